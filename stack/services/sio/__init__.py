"""python-socketio ASGI server with auth on CONNECT and a ping/pong event round trip."""
