"""Concurrent WebSocket sessions through nginx, held open: failed handshakes and message p95 at full count.

Our LOAD-WS-CONCURRENT scenario (websocket-client under gevent, one greenlet per session) opens N
authenticated sessions to ``wss://localhost:<nginx>/ws/secure``, each echoing a message every interval,
and holds every session for the hold time. Goal on this 2-core machine: 5,000 sessions held 60 s with
zero failed handshakes (runbook 002 asks for 100). Each session costs the generator one file
descriptor, nginx two (client and upstream) and uvicorn one: the generator's open-file limit is raised
here when below what is needed; nginx's (worker_rlimit_nofile 40000) and uvicorn's (inherited from
``stack up``) are the stack's.

    python bench/ws_capacity.py [--sessions 5000] [--hold 60] [--interval 10] [--processes 2]
"""

from __future__ import annotations

import argparse

from _bench import bench_dir, raise_nofile, run, ws_plan

from infragate.load import WS_CONNECT, WS_ECHO, WS_HOLD, WS_OPEN


def main() -> int:
    """Open, hold and measure the sessions; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--hold", type=float, default=60.0, help="seconds every session stays open")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between messages per session")
    parser.add_argument("--spawn-rate", type=float, default=250.0, help="sessions opened per second")
    parser.add_argument("--processes", type=int, default=2, help="generator processes (default 2)")
    args = parser.parse_args()
    # Generator: one socket per session plus Locust's own; headroom for the login and the CSV files.
    print(raise_nofile(args.sessions + 1024))
    plan = ws_plan(
        "ws-capacity",
        sessions=args.sessions,
        spawn_rate=args.spawn_rate,
        hold_s=args.hold,
        interval_s=args.interval,
        processes=args.processes,
    )
    print(
        f"{args.sessions} sessions at {args.spawn_rate:g}/s, held {args.hold:g} s, a message every "
        f"{args.interval:g} s, {args.processes} generator process(es); run time {plan.run_time_s} s",
        flush=True,
    )
    result = run(plan, bench_dir("ws_capacity"))
    path = str(plan.spec["url"]).split("://", 1)[1].split("/", 1)[1]
    connect = result.entry(WS_CONNECT)
    echo = result.entry(WS_ECHO)
    steady = result.entry(WS_ECHO, f"/{path} (all open)")
    held = result.entry(WS_HOLD)
    still_open = result.entry(WS_OPEN)
    print(
        f"handshakes:        {connect.requests} attempted, {connect.failures} failed, "
        f"p95 {connect.percentile(0.95)} ms"
    )
    print(f"sessions held:     {held.successes} held {args.hold:g} s, {held.failures} dropped early")
    print(f"open at once:      {still_open.requests} sessions open together when the last one had been held")
    print(
        f"messages:          {echo.requests} round trips, {echo.failures} failed, "
        f"p95 {echo.percentile(0.95)} ms (whole run)"
    )
    print(
        f"while all open:    {steady.requests} round trips, p95 {steady.percentile(0.95)} ms, "
        f"p99 {steady.percentile(0.99)} ms"
    )
    print(result.cpu.describe())
    ok = connect.failures == 0 and held.successes >= args.sessions and still_open.requests >= args.sessions
    print(
        f"\ngoal ({args.sessions} sessions held {args.hold:g} s, 0 failed handshakes): "
        + ("met" if ok else "NOT met")
        + ("" if not result.cpu.saturated else " -- generator saturated, see CPU above")
    )
    print(f"Locust report: {result.out_dir}/locust.html")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
