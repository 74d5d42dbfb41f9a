"""requirements/*.lock still satisfy pyproject.toml (the Makefile installs the locks, not pyproject)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "requirements"))
from lock import declared  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(?P<name>[a-z0-9-]+) @ (?P<url>\S+) --hash=sha256:(?P<sha>[0-9a-f]{64})$")


def _lock(name: str) -> dict[str, Version]:
    """One lock file as name -> pinned version, every line checked for a URL and a sha256."""
    pinned: dict[str, Version] = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        match = LINE.match(line)
        assert match, f"{name}: not 'name @ url --hash=sha256:...': {line!r}"
        filename = match["url"].rsplit("/", 1)[1]
        wheel = filename.endswith(".whl")
        dist, version = parse_wheel_filename(filename)[:2] if wheel else parse_sdist_filename(filename)
        assert dist == canonicalize_name(match["name"]), f"{name}: {match['name']} locks {filename}"
        pinned[dist] = version
    return pinned


@pytest.mark.parametrize(("lock", "extras"), [("stack.lock", ("stack",)), ("dev.lock", ("stack", "dev"))])
def test_lock_satisfies_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    pinned = _lock("stack.lock") | _lock(lock)
    for text in declared(extras):
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pinned, f"{lock}: {req.name} is in pyproject.toml but not locked: run make lock"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"{lock}: {req.name} locked at {pinned[name]}, pyproject.toml asks {req.specifier}: run make lock"
        )


def test_dev_lock_adds_only_new_packages() -> None:
    assert not set(_lock("stack.lock")) & set(_lock("dev.lock")), "dev.lock repeats a package of stack.lock"
