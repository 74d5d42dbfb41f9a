"""The infragate reference target: real servers from Debian packages on 127.0.0.1, started by one command."""

from __future__ import annotations
