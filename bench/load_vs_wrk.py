"""wrk against our Locust scenario on the same endpoints, side by side in one run: requests/s and ratio.

Endpoints of the reference stack, both through nginx over HTTPS:
  * static: nginx's own ``/nginx-health`` (no upstream): shows the generator's ceiling;
  * service: ``/health`` of the sample service (one uvicorn worker) through nginx: the goal is a
    ratio >= 0.9 there, i.e. the target, not the generator, is what is measured.
wrk runs ``-t2 -c400`` (runbook 002's 400 connections on this 2-core machine); our scenario runs 400
FastHttpUser users without pacing, with 1 and with 2 generator processes; the best is compared.

    python bench/load_vs_wrk.py [--duration 15]
"""

from __future__ import annotations

import argparse
import os

from _bench import bench_dir, http_plan, https_base, run, target_cpu, wrk

ENDPOINTS = (("static", "/nginx-health"), ("service", "/health"))


def main() -> int:
    """Measure both tools on both endpoints and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement (default 15)")
    parser.add_argument("--users", type=int, default=400, help="users / connections (default 400)")
    args = parser.parse_args()
    out = bench_dir("load_vs_wrk")
    rows: list[tuple[str, float, float, int, float]] = []
    service_cpu: dict[str, float] = {}
    for label, path in ENDPOINTS:
        url = https_base() + path
        with target_cpu() as cpu:
            theirs = wrk(url, threads=2, connections=args.users, duration_s=args.duration)
        service_cpu[f"{label}-wrk"] = cpu.service_pct
        print(
            f"{label:8} wrk      {theirs.rps:9.0f} req/s  ({theirs.requests} requests, "
            f"{theirs.errors} errors, p99 {theirs.p99_ms or 0:.0f} ms; {cpu.describe()})",
            flush=True,
        )
        best = (0.0, 0)
        for processes in (1, 2):
            plan = http_plan(
                f"{label}-p{processes}", path, users=args.users, duration_s=args.duration, processes=processes
            )
            with target_cpu() as cpu:
                result = run(plan, out)
            total = result.total
            print(
                f"{label:8} locust {processes}p {total.rps:9.0f} req/s  ({total.requests} requests, "
                f"{total.failures} failures, p99 {total.percentile(0.99) or 0:.0f} ms; {cpu.describe()}; "
                f"{result.cpu.describe()})",
                flush=True,
            )
            if (total.rps, processes) > best:
                best = (total.rps, processes)
                service_cpu[f"{label}-ours"] = cpu.service_pct
        rows.append((label, theirs.rps, best[0], best[1], best[0] / theirs.rps if theirs.rps else 0.0))
    print()
    print(f"endpoint  {'wrk req/s':>10} {'ours req/s':>11}  ratio  (ours = best of 1 and 2 Locust processes)")
    for label, theirs_rps, ours, processes, ratio in rows:
        print(f"{label:8}  {theirs_rps:10.0f} {ours:11.0f}  {ratio:5.2f}  ({processes} process(es))")
    service_ratio = rows[-1][4]
    print(
        f"\nservice endpoint ratio {service_ratio:.2f} (goal >= 0.90): "
        + ("met" if service_ratio >= 0.9 else "not met on this machine")
    )
    if service_ratio < 0.9:
        print(
            f"why: generator and target share this machine's {os.cpu_count()} cores. The sample service is "
            f"one uvicorn process: it used {service_cpu.get('service-wrk', 0):.0f}% of a core under wrk and "
            f"{service_cpu.get('service-ours', 0):.0f}% under our scenario, whose Python generator needs "
            "several times wrk's CPU per request (TLS and HTTP in gevent). With the generator on other "
            "cores or machines (README, 'Distributed runs'), the target keeps its core."
        )
    print(f"Locust reports: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
