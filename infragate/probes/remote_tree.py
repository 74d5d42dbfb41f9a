"""A directory of the target's host, copied here to be read by a library that wants local files.

Alembic reads a script directory with its own ``ScriptDirectory`` and sqlx migrations are files whose
checksums must be computed: both need the DEPLOYED files, which live on the app's host. Through
``local://`` the path is read in place. Through any other transport (``ssh://``, ``docker://``...) the
directory goes over the host's own transport as one ``tar | base64`` (the transport's deadline applies),
and is unpacked with tarfile's ``data`` filter (no absolute paths, links out of the tree or devices) into a
temporary directory removed when the process exits. Reading the gate machine's own path instead would
judge whatever checkout happens to sit there, not what runs.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import io
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infragate.probes.host import Runner

# A migration directory is kilobytes; a path pointing at something huge should fail, not fill memory.
MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Tree:
    """Where to read the host's directory here (``path``), or why it could not be copied."""

    path: Path | None
    error: str | None = None


def is_local(transport: str | None) -> bool:
    """The transport reads this machine's own files (no copy needed)."""
    return transport is None or transport.startswith("local://")


def fetch(host: Runner, transport: str | None, path: Path) -> Tree:
    """``path`` on the host, readable here: itself through ``local://``, else a private copy."""
    if is_local(transport):
        return Tree(path)
    out = host.run(
        "test -d %s && tar -C %s --exclude=__pycache__ -cf - . | head -c %s | base64 -w 0",
        str(path),
        str(path),
        str(MAX_BYTES + 1),
    )
    # The pipe's status is base64's: tar's own failure (a file it cannot read) shows on stderr only.
    if out.rc != 0 or not out.stdout or out.stderr.strip():
        why = out.stderr.strip() or ("no such directory" if out.rc else "empty answer")
        return Tree(None, f"{path} on the host: {why}")
    try:
        raw = base64.b64decode(out.stdout.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        return Tree(None, f"{path} on the host: unreadable copy ({exc})")
    if len(raw) > MAX_BYTES:
        return Tree(None, f"{path} on the host: over {MAX_BYTES // 2**20} MiB, not a migration directory")
    dest = Path(tempfile.mkdtemp(prefix="infragate-tree-"))
    atexit.register(shutil.rmtree, dest, True)
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            archive.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        return Tree(None, f"{path} on the host: {type(exc).__name__}: {exc}")
    return Tree(dest)
