"""A chain of gyms: results shared through Mosquitto bridges to a central broker (``docs/scaling.md``);
:mod:`server.chain.service` ties the parts together."""
