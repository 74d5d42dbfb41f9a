"""Hold N WebSocket connections open until killed: ``python -m stack.fault_actions.ws_holder URL N``.

Used by the ``metrics-ws-held`` fault: the service's ws_connections_active gauge then reads N for real.
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.client import connect


async def hold(url: str, count: int) -> None:
    """Open ``count`` sessions and keep them (answering pings) until the process is killed."""
    sessions = [await connect(url, proxy=None, open_timeout=5) for _ in range(count)]
    print(f"holding {len(sessions)} sessions to {url}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(hold(sys.argv[1], int(sys.argv[2])))
