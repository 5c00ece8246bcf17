"""The broker side of the hub: its MQTT connection (``link``, on a buffered socket), the managed
Mosquitto of the demo, bench and tests (``broker``), and broker credentials for nodes (``nodeadmin``)."""
