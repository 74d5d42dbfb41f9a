"""A preloaded Python that runs ``python -m MODULE ARGS`` by forking: the fault self-test's command runner.

The fault self-test runs about 80 x (``python -m stack fault``, ``python -m pytest tests_infra ...``,
``python -m stack heal``). Each fresh interpreter spends seconds importing pytest, httpx, psycopg,
testinfra, alembic... before doing anything. This server imports those libraries once and forks a child
per command: the child is a fresh process as far as the command can tell (own environment, working
directory, stdout/stderr files, ``sys.argv``; our own packages imported anew), it only skips the
third-party imports. Servers a ``stack`` command starts are re-parented when the child exits, exactly as
with a subprocess.

Protocol (JSON lines on stdin/stdout): request ``{"module", "args", "cwd", "env", "out", "err"}``; the
server answers ``{"pid": N}`` when the child started, then ``{"returncode": N}`` when it ended.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import pkgutil
import runpy
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Libraries whose import-time state does not depend on the environment a command runs in: third-party
# ones, pytest's plugins, and infragate's own library (inventory, catalog, probes, facts; it reads no
# environment at import). Not fixtures/ (pytest rewrites its asserts) nor stack/ (reads its settings).
PRELOAD = (
    "pytest",
    "_pytest.junitxml",
    "_pytest.terminal",
    "_pytest.pytester",
    "pytest_html.plugin",
    "pytest_html.fixtures",
    "pytest_metadata.plugin",
    "xdist.plugin",
    "xdist.looponfail",
    "testinfra.plugin",
    "pytest_timeout",
    "anyio.pytest_plugin",
    "httpx",
    "psycopg",
    "redis",
    "websockets.sync.client",
    "websockets.asyncio.client",
    "testinfra.host",
    "yaml",
    "jinja2",
    "alembic.config",
    "alembic.script",
    "alembic.runtime.migration",
    "sqlalchemy",
    "jwt",
    "crossplane",
    "jmespath",
    "infragate.catalog",
    "infragate.inventory",
    "infragate.probes.*",
    "infragate.facts.*",
)
# Modules of pytest plugins imported before pytest starts cannot have their asserts rewritten; pytest
# warns about it, which filterwarnings=error would turn into an error. The plugins' own asserts are not
# what the self-test checks.
PYTEST_ARGS = ("-W", "ignore::pytest.PytestAssertRewriteWarning")


# Our own library among PRELOAD: when its source changes after the preload (someone edits the checkout
# while the self-test runs), a child imports it afresh instead of running stale code beside new code.
OWN = "infragate"


def _newest_source(package: str) -> float:
    spec = importlib.util.find_spec(package)
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    return max((p.stat().st_mtime for root in roots for p in Path(root).rglob("*.py")), default=0.0)


def _forget_if_changed(package: str, loaded_at: float) -> None:
    if _newest_source(package) > loaded_at:
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


def _child(request: Mapping[str, Any], loaded_at: float) -> None:
    """Run one command in this (forked) process and exit with its code; never returns."""
    code = 1
    try:
        _forget_if_changed(OWN, loaded_at)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        for fd, key in ((1, "out"), (2, "err")):
            handle = os.open(request[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(handle, fd)
            os.close(handle)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        sys.argv = [request["module"], *request["args"]]
        sys.path[0] = request["cwd"]  # as `python -m` puts the working directory first
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(preload: Sequence[str]) -> None:
    """Import ``preload``, then answer requests on stdin until it closes (one child at a time)."""
    loaded_at = time.time()
    for name in preload:
        with contextlib.suppress(ImportError):
            module = importlib.import_module(name.removesuffix(".*"))
            if name.endswith(".*"):  # and every module of the package
                for info in pkgutil.iter_modules(module.__path__):
                    importlib.import_module(f"{module.__name__}.{info.name}")
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, loaded_at)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


@dataclass(frozen=True)
class Completed:
    """What a finished command left: exit code and its output."""

    returncode: int
    stdout: str
    stderr: str


class Prefork:
    """Client of a prefork server started here (stopped by ``close``, by its PID)."""

    def __init__(self, workdir: Path, root: Path) -> None:
        self._workdir = workdir
        self._count = 0
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "selftest.e2e.prefork", *PRELOAD],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _line(self, stream: IO[str], timeout: float | None) -> dict[str, Any]:
        if timeout is not None:
            ready, _, _ = select.select([stream], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired("prefork", timeout)
        line = stream.readline()
        if not line:
            raise RuntimeError(f"prefork server exited (code {self._proc.poll()})")
        return dict(json.loads(line))

    def run(
        self, module: str, args: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
    ) -> Completed:
        """``python -m module *args`` in a forked child; kills it and raises TimeoutExpired after timeout."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._count += 1
        out = self._workdir / f"cmd{self._count}.out"
        err = self._workdir / f"cmd{self._count}.err"
        request = {
            "module": module,
            "args": list(args),
            "cwd": str(cwd),
            "env": dict(env),
            "out": str(out),
            "err": str(err),
        }
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        pid = int(self._line(self._proc.stdout, 30)["pid"])
        try:
            code = int(self._line(self._proc.stdout, timeout)["returncode"])
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)  # our own server's child, by its PID
            self._line(self._proc.stdout, 30)
            raise
        return Completed(code, out.read_text(errors="replace"), err.read_text(errors="replace"))

    def close(self) -> None:
        """Stop the server: closing its stdin ends its loop; it is waited for."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


if __name__ == "__main__":
    serve(sys.argv[1:])
