"""Class sessions (issue 5): roster, circuits, the class state machine, rotation and the class service.

Pure core: :mod:`circuits`, :mod:`roster`, :mod:`rotation`, :mod:`session`, :mod:`corrections` (no I/O,
no clock). Edge: :mod:`service` (on top of the hub and the store). The routes and Socket.IO control events
are in :mod:`server.web.classes_api` and :mod:`server.web.class_sockets`; :func:`server.app.create_app`
builds the service.
"""
