"""Recorded APIs of servers that cannot be installed here (Grafana, Loki, Ollama): see server.py."""
