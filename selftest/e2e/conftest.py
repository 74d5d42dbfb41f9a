"""End-to-end fixtures: the reference stack (started here when it is not up) and suite runs against it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from selftest.e2e.prefork import PYTEST_ARGS, Prefork
from selftest.helpers import StackCli, parse_junit

ROOT = Path(__file__).resolve().parents[2]
# The deployment part (Docker engine, containers, units, proxies; issue 11) is on for the e2e self-tests:
# set before the stack fixture starts the stack (INFRAGATE_STACK_DEPLOY=0 keeps it off for a quick run).
os.environ.setdefault("INFRAGATE_STACK_DEPLOY", "1")


def deploy_on() -> bool:
    """Whether this session's stack has its deployment part (then the suite reads local-deploy.toml)."""
    from stack.layout import deploy_requested

    return deploy_requested()


@dataclass
class SuiteRun:
    """One `pytest tests_infra --host=local` run: exit code, output and JUnit results by check id."""

    returncode: int
    stdout: str
    stderr: str
    report_dir: Path
    cases: list[dict[str, Any]] = field(default_factory=list)

    def failed(self) -> dict[str, list[str]]:
        """Failure messages (and errors) by check id."""
        out: dict[str, list[str]] = {}
        for case in self.cases:
            if case["outcome"] in ("failed", "error"):
                out.setdefault(case["check"], []).append(case["message"])
        return out

    def leaked(self, secrets: dict[str, str]) -> list[str]:
        """Where any secret value shows up: the output and every file the run wrote (names only)."""
        values = [(name, v) for name, v in secrets.items() if len(v) >= 6]
        texts = {"stdout/stderr": self.stdout + self.stderr}
        for path in self.report_dir.rglob("*"):
            if path.is_file():
                texts[path.name] = path.read_text(errors="replace")
        return [f"{name} in {where}" for where, text in texts.items() for name, v in values if v in text]

    def check_ids(self) -> set[str]:
        """Check ids that ran."""
        return {c["check"] for c in self.cases}

    def selected(self, kind: str) -> list[dict[str, Any]]:
        """Cases kept by --only-entries as ``part`` (the broken parts) or ``control``."""
        return [c for c in self.cases if c["selection"] == kind]


# Faults whose first run was off target and ran again (test_faults.py); printed in the summary so a
# flaky fault shows in CI output even when its retry passed. Each fault test carries its retries in its
# report (a user property, also in JUnit), and the process that prints the summary counts them from the
# reports: the only process, or under xdist the controller, which receives every worker's reports.
RETRIES = pytest.StashKey[list[str]]()
RETRY_PROPERTY = "e2e_fault_retries"
RETRY_WHYS = pytest.StashKey[list[str]]()
_CONFIG: list[pytest.Config] = []


@pytest.fixture
def fault_retries() -> list[str]:
    """The list that test_faults.py appends a fault's name to when it retries that fault."""
    return []


def pytest_configure(config: pytest.Config) -> None:
    """Keep the config for pytest_runtest_logreport (that hook gets the report only)."""
    _CONFIG[:] = [config]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A test that used fault_retries reports the faults it retried (comma-separated, maybe none)."""
    retried = getattr(item, "funcargs", {}).get("fault_retries")
    if call.when == "call" and retried is not None:
        item.user_properties.append((RETRY_PROPERTY, ",".join(retried)))
    return (yield)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the retries of each fault test's call report, where the summary is printed."""
    config = _CONFIG[0] if _CONFIG else None
    if config is None or hasattr(config, "workerinput") or report.when != "call":
        return  # an xdist worker: its reports go to the controller, which counts them
    for name, value in report.user_properties:
        if name == RETRY_PROPERTY:
            config.stash.setdefault(RETRIES, []).extend(v for v in str(value).split(",") if v)
    # Why a retried fault's first run was off target (test_faults prints it): shown in the summary, since
    # a passing test's captured output is never printed and a flaky fault must be diagnosable from CI.
    for title, text in report.sections:
        if title.startswith("Captured stdout"):
            whys = [ln for ln in text.splitlines() if "first run off target" in ln]
            config.stash.setdefault(RETRY_WHYS, []).extend(w[:600] for w in whys)


# Under xdist each worker has its own stack (selftest/conftest.py). The fault tests are independent (each
# faults, runs and heals): they spread over the workers one by one. Every other module is one unit on one
# worker, so its module-scoped suite runs happen once and its faults never meet another module's.
SPREAD_MODULES = ("selftest/e2e/test_faults.py",)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: units as above, not by xdist_group marks.

    pytest 9.2 ignores the node id suffix through which pytest-xdist 3.8's workers pass a test's
    xdist_group to the scheduler (pytest-xdist#1386: the marks silently stop grouping), and a new module
    is safe by default this way. A ``@group`` suffix, once xdist passes it again, still wins.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ModuleOrTestScheduling(LoadGroupScheduling):  # type: ignore[misc]
        """LoadGroupScheduling whose default unit is the module, or the test in SPREAD_MODULES."""

        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return str(super()._split_scope(nodeid))
            module = nodeid.split("::", 1)[0]
            return nodeid if module in SPREAD_MODULES else module

    return ModuleOrTestScheduling(config, log)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One line with the number of retried fault runs (and which), whenever fault runs happened."""
    retries = config.stash.get(RETRIES, None)
    if retries is not None:
        names = f": {', '.join(retries)}" if retries else ""
        terminalreporter.write_line(f"e2e fault retries: {len(retries)}{names}")
        for why in config.stash.get(RETRY_WHYS, []):
            terminalreporter.write_line(f"  {why}")


@pytest.fixture(scope="session")
def stack_env(stack: Any) -> dict[str, str]:
    """Environment for a suite run: the stack's secrets, nothing inherited that selects a target."""
    # The stack's own location variables stay (they pick which stack); nothing that selects a target does.
    keep = ("INFRAGATE_STACK_PORT_BASE", "INFRAGATE_RUN_DIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFRAGATE_") or k in keep}
    env.update(stack.secrets())
    if deploy_on():
        from stack.docker import docker_host
        from stack.layout import layout

        # The docker CLI and testinfra's docker:// backend reach the stack's own engine, never the system's.
        env["DOCKER_HOST"] = docker_host(layout())
    return env


@pytest.fixture(scope="session")
def inventory_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """inventory/ for the default stack; for a stack on another port base or run dir, a shifted copy.

    Lets several developers (or a developer and CI) run the end-to-end tests side by side on one machine.
    With the deployment part on, the copy's local.toml IS local-deploy.toml (extending the plain file,
    renamed local-plain.toml): the target keeps its name "local" in every test id and message.
    """
    from stack.inventory import inventory_dir as stack_inventory

    return stack_inventory(tmp_path_factory.mktemp("inventory"))


@pytest.fixture(scope="session")
def prefork(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prefork]:
    """A preloaded interpreter that runs `python -m ...` commands by forking (selftest/e2e/prefork.py)."""
    server = Prefork(tmp_path_factory.mktemp("prefork"), ROOT)
    yield server
    server.close()


@pytest.fixture(scope="session")
def stack(stack: StackCli, prefork: Prefork) -> Iterator[StackCli]:
    """The reference stack (selftest/conftest.py), its fault and heal commands run through prefork."""
    stack.runner = prefork
    yield stack
    stack.runner = None  # the session's final heal-all and down run after prefork has stopped


@pytest.fixture(scope="session")
def run_suite(
    stack_env: dict[str, str],
    inventory_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    prefork: Prefork,
) -> Any:
    """Run the check suite against the local stack; returns a SuiteRun.

    ``preforked=True`` runs it in a child of the prefork server (no interpreter start-up and library
    imports per run: the fault runs); otherwise in a fresh interpreter, exactly as a user runs it.
    """

    def run(*args: str, name: str = "run", preforked: bool = False) -> SuiteRun:
        out = tmp_path_factory.mktemp(name)
        pytest_args = [
            "tests_infra",
            "--host=local",
            "-p",
            "no:cacheprovider",
            f"--junitxml={out / 'junit.xml'}",
            f"--html={out / 'report.html'}",
            "-o",
            "junit_suite_name=infragate-local",
            f"--inventory={inventory_dir}",
            # Every local of a failing test printed (pytest -l): the leak scan then covers them too.
            "-l",
            *args,
        ]
        if preforked:
            done = prefork.run("pytest", [*pytest_args, *PYTEST_ARGS], cwd=ROOT, env=stack_env, timeout=300)
            returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
        else:
            cmd = [sys.executable, "-m", "pytest", *pytest_args]
            proc = subprocess.run(cmd, cwd=ROOT, env=stack_env, capture_output=True, text=True, timeout=300)
            returncode, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        (out / "stdout.txt").write_text(stdout)
        junit = out / "junit.xml"
        cases = parse_junit(junit) if junit.exists() else []
        return SuiteRun(returncode, stdout, stderr, out, cases)

    return run
