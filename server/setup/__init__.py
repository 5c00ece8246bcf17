"""``/setup``: adopting sensor nodes, stations and their bindings, calibration wizards, sensor health.

Pure parts (no I/O, no clock): :mod:`~server.setup.calibration` (the arithmetic),
:mod:`~server.setup.wizards` (the calibration state machines), :mod:`~server.setup.health` (verdicts and
warnings), :mod:`~server.setup.stations` (checking a station from the form). With state on the hub's
pipeline thread: :mod:`~server.setup.readings` (latest reading per sensor) and
:mod:`~server.setup.service` (ties them to the hub). :mod:`~server.setup.store` keeps calibrations
(table ``calibrations``). The web layer is :mod:`server.web.setup_api`.
"""
