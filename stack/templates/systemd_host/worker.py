"""The systemd host's supervisor program (worker): a loop that says it is alive once a minute."""

from __future__ import annotations

import time

while True:
    print("INFO worker: alive", flush=True)
    time.sleep(60)
