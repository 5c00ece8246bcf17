"""Class sessions (issue 5): roster, circuits, the class state machine, rotation and the class service.

Pure core: :mod:`circuits`, :mod:`roster`, :mod:`rotation`, :mod:`session`, :mod:`corrections` (no I/O,
no clock). Edges: :mod:`service` (on top of the hub and the store), :mod:`sockets` (Socket.IO control
events) and :mod:`wiring` (``register_class_features(hub_app)``).
"""
