"""sledhub sensor-node bridge: gpiozero drivers (HX711, quadrature encoder, beam gates), fakes of the
same hardware on mock pins, and the node runtime that speaks the sledhub/v1 MQTT protocol.

Nothing runs at import time; see :class:`firmware_bridge.node.Node` and ``sledhub-bridge --help``.
"""

__version__ = "0.1.0"
