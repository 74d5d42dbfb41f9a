"""CLI: python -m stack up | down | status | fault NAME | heal NAME | heal-all | faults | env | inventory."""

from __future__ import annotations

import argparse
import sys

from stack import api, control
from stack.docker import docker_host
from stack.inventory import inventory_dir
from stack.layout import deploy_requested, layout
from stack.secretstore import env_text


def _print(line: str) -> None:
    print(line, flush=True)


def _status() -> int:
    rows = api.status()
    print(f"{'part':<13} {'state':<12} {'pid':<12} port")
    for st in rows.values():
        pid = str(st.pid) if st.pid is not None else "-"
        print(f"{st.name:<13} {st.state:<12} {pid:<12} {','.join(map(str, st.ports))}")
    active = api.active_faults()
    print(f"faults active: {', '.join(active) if active else 'none'}")
    print(f"run dir: {api.run_dir()}")
    return 0 if all(st.up for st in rows.values()) else 1


def _faults() -> int:
    active = set(api.active_faults())
    for f in api.faults():
        mark = "*" if f.name in active else " "
        print(f"{mark} {f.name:<26} {f.description}")
        print(f"  {'':<26} breaks: {', '.join(f.breaks)}")
    print("(* = active)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one CLI command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m stack", description="infragate reference target")
    sub = parser.add_subparsers(dest="command", required=True)
    up_cmd = sub.add_parser("up", help="start every part (idempotent) and wait until ready")
    # The deployment part (Docker engine, containers; issue 11): opt-in, then on until `down`.
    up_cmd.add_argument("--with", dest="with_parts", action="append", choices=["deploy"], default=[])
    sub.add_parser("down", help="stop every process we started")
    sub.add_parser("status", help="part, pid, port, state; exit 0 iff all parts are up")
    sub.add_parser("fault", help="apply a fault").add_argument("name")
    sub.add_parser("heal", help="heal a fault; returns once the stack has settled").add_argument("name")
    sub.add_parser("heal-all", help="heal every active fault")
    sub.add_parser("faults", help="list the fault catalog")
    sub.add_parser("env", help='print secrets.env (eval "$(python -m stack env)")')
    sub.add_parser("inventory", help="print the inventory directory that describes this stack (its ports)")
    args = parser.parse_args(argv)

    try:
        if args.command == "up":
            if "deploy" in args.with_parts:
                layout().ensure()
                layout().deploy_marker.touch()
            api.up(_print)
        elif args.command == "down":
            api.down(_print)
            layout().deploy_marker.unlink(missing_ok=True)
        elif args.command == "status":
            return _status()
        elif args.command == "fault":
            seconds = control.fault(args.name)
            print(f"fault {args.name} applied, live after {seconds:.2f} s")
        elif args.command == "heal":
            seconds = control.heal(args.name)
            print(f"fault {args.name} healed, settled after {seconds:.2f} s")
        elif args.command == "heal-all":
            healed = control.heal_all()
            for name, seconds in healed:
                print(f"fault {name} healed, live after {seconds:.2f} s")
            if not healed:
                print("no active fault")
        elif args.command == "faults":
            return _faults()
        elif args.command == "inventory":
            print(inventory_dir())
        elif args.command == "env":
            sys.stdout.write(env_text(layout()))
            if deploy_requested():
                # The docker CLI and testinfra's docker:// backend reach the stack's own engine only.
                sys.stdout.write(f"export DOCKER_HOST={docker_host(layout())}\n")
    except (api.StackError, api.FaultError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
