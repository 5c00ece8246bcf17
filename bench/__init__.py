"""``make bench``: the hub under a class load on a real Mosquitto, and this machine's MQTT ceiling.

Entry point: ``python -m bench.run`` (see ``bench/README.md`` for what is measured and how).
"""
