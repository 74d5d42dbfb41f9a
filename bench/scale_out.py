"""Requests/s of a Locust master with 2 workers against 1 worker, on nginx's static endpoint.

The static endpoint (``/nginx-health``, no upstream) is far faster than one Locust process, so the
generator is the bottleneck and adding workers should add throughput: this is what distributed runs
(master + workers, here on loopback; across machines in tests_load/README.md) are for. Both runs use
our health scenario (FastHttpUser, 400 users, no pacing) through infragate.load's master/worker mode.

    python bench/scale_out.py [--duration 15]
"""

from __future__ import annotations

import argparse

from _bench import bench_dir, http_plan, run


def main() -> int:
    """Run 1 then 2 workers and print both figures and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per run (default 15)")
    parser.add_argument("--users", type=int, default=400)
    args = parser.parse_args()
    out = bench_dir("scale_out")
    rps: dict[int, float] = {}
    for workers in (1, 2):
        plan = http_plan(
            f"static-{workers}w", "/nginx-health", users=args.users, duration_s=args.duration, workers=workers
        )
        result = run(plan, out)
        total = result.total
        rps[workers] = total.rps
        print(
            f"master + {workers} worker(s): {total.rps:8.0f} req/s ({total.requests} requests, "
            f"{total.failures} failures, p95 {total.percentile(0.95)} ms; {result.cpu.describe()})",
            flush=True,
        )
    ratio = rps[2] / rps[1] if rps[1] else 0.0
    print(f"\n2 workers / 1 worker: {ratio:.2f}x ({rps[2]:.0f} vs {rps[1]:.0f} req/s)")
    print(f"Locust reports: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
