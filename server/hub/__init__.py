"""The ingest path, from an MQTT message to a stored, broadcast result: ``service.Hub`` ties together the
pipeline thread, the node registry and clocks, the router (sensor -> station), the attempt book, the
pure engine, the result writer, the run journal and the broadcaster (docs/architecture.md)."""
