"""HTTP routes and Socket.IO handlers: thin, they validate input and call the hub's services."""
