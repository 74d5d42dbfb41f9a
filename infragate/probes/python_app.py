"""A deployed Python application on a host: do its sources compile, are its requirements installed?

Both run the app's own interpreter on the host (through a testinfra-like backend), so the answer is the
one the app would get at start-up; nothing is written (no .pyc, no pip).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infragate.probes.host import Missing, Runner

__all__ = ["Compile", "compile_sources", "missing_requirements"]


@dataclass(frozen=True)
class Compile:
    """Byte-compilation of an app's sources with its interpreter (nothing written: ``compile()`` only)."""

    files: int
    errors: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    error: str | None = None


# Directories never compiled: a virtualenv (it has pyvenv.cfg) or installed packages are not the app's
# sources, and compiling them took 17 to 35 s per run on a real target. ``exclude`` (argv[2:]) adds
# paths, absolute or relative to the sources.
_COMPILE_SCRIPT = """
import os, sys
root = os.path.abspath(sys.argv[1])
excluded = {os.path.normpath(os.path.join(root, p)) for p in sys.argv[2:]}
never = {'site-packages', 'dist-packages', '__pycache__', '.git', 'node_modules', '.tox', '.nox'}
skipped, paths = [], []
if os.path.isfile(root):
    paths = [root]
for d, dirs, fs in ([] if paths else os.walk(root)):
    keep = []
    for name in sorted(dirs):
        full = os.path.join(d, name)
        if full in excluded or name in never or os.path.exists(os.path.join(full, 'pyvenv.cfg')):
            skipped.append(full)
        else:
            keep.append(name)
    dirs[:] = keep
    paths.extend(os.path.join(d, f) for f in sorted(fs)
                 if f.endswith('.py') and os.path.join(d, f) not in excluded)
for path in paths:
    try:
        with open(path, 'rb') as handle:
            compile(handle.read(), path, 'exec', dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        print('ERR %s:%s: %s' % (path, getattr(exc, 'lineno', '?'), getattr(exc, 'msg', exc)))
for path in skipped:
    print('SKIP %s' % path)
print('FILES %d' % len(paths))
"""


def compile_sources(host: Runner, python: str, sources: str, exclude: tuple[str, ...] = ()) -> Compile:
    """Compile every ``.py`` under ``sources`` with the app's interpreter, in memory (no .pyc written).

    Virtualenvs, site-packages and ``exclude`` are skipped (and listed in ``skipped``).
    """
    out = host.run("%s -c %s %s" + " %s" * len(exclude), python, _COMPILE_SCRIPT, sources, *exclude)
    files = re.search(r"^FILES (\d+)$", out.stdout, re.MULTILINE)
    if files is None:
        return Compile(0, (), error=(out.stderr.strip() or f"exit {out.rc}")[-300:])
    lines = out.stdout.splitlines()
    errors = tuple(line[4:] for line in lines if line.startswith("ERR "))
    skipped = tuple(line[5:] for line in lines if line.startswith("SKIP "))
    return Compile(int(files.group(1)), errors, skipped)


_REQUIREMENTS_SCRIPT = """
import re, sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    Requirement = None
for raw in open(sys.argv[1], encoding='utf-8'):
    line = raw.split('#', 1)[0].strip()
    if not line or line.startswith('-'):
        continue
    if Requirement is not None:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        name, spec = req.name, req.specifier
    else:
        name, spec = re.split(r'[\\s\\[<>=!~;]', line, 1)[0], None
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        print('MISSING %s' % line)
        continue
    if spec is not None and not spec.contains(version, prereleases=True):
        print('MISMATCH %s (installed %s)' % (line, version))
print('DONE')
"""


def missing_requirements(host: Runner, python: str, requirements: str) -> Missing:
    """Requirements of a requirements file not installed (or at a wrong version) for ``python``."""
    out = host.run("%s -c %s %s", python, _REQUIREMENTS_SCRIPT, requirements)
    if "DONE" not in out.stdout.splitlines():
        return Missing((), (out.stderr.strip() or f"exit {out.rc}")[-300:])
    problems = tuple(
        line.split(" ", 1)[1]
        for line in out.stdout.splitlines()
        if line.startswith(("MISSING ", "MISMATCH "))
    )
    return Missing(problems)
