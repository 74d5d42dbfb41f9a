"""Wall time of the full healthy run against the reference stack: serial against `-n auto`.

Usage: python bench/suite_speed.py   (starts the stack when it is not up, stops it again after)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _common import run_suite  # type: ignore[import-not-found]

from stack import api

REPEAT = 3


def main() -> None:
    """Run the suite serially and with xdist, side by side, and print times, counts and the ratio."""
    already_up = all(p.up for p in api.status().values())
    api.up()
    try:
        env = api.secrets()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            run_suite("--host=local", env=env, out=out)  # warm-up: imports, page cache
            # Interleaved repetitions, median of each: a shared 2-core machine is noisy.
            serial_runs, parallel_runs = [], []
            for _ in range(REPEAT):
                serial_runs.append(run_suite("--host=local", env=env, out=out))
                parallel_runs.append(run_suite("--host=local", "-n", "auto", env=env, out=out))
            serial = sorted(serial_runs)[REPEAT // 2]
            parallel = sorted(parallel_runs)[REPEAT // 2]
    finally:
        if not already_up:
            api.down()
    print(f"median of {REPEAT} interleaved runs each")
    print(f"serial:   {serial[0]:6.2f} s  {serial[2]} tests, {serial[3]} failed (exit {serial[1]})")
    print(f"-n auto:  {parallel[0]:6.2f} s  {parallel[2]} tests, {parallel[3]} failed (exit {parallel[1]})")
    print(f"ratio serial / -n auto: {serial[0] / parallel[0]:.2f}")


if __name__ == "__main__":
    main()
