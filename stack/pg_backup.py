"""The stack's nightly backup, taken at every PostgreSQL start: what PG-BACKUP-DUMP finds in backups/."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from stack.layout import Layout

KEEP = 3
PATTERN = "appdb-*.dump"


def backup_dir(lay: Layout) -> Path:
    """Where the stack's backups land (inventory/local.toml declares it as the backup dir)."""
    return lay.root / "backups"


def write(lay: Layout, pg_bin: Path, socket_dir: Path, port: int, dbname: str) -> Path:
    """pg_dump -Fc of ``dbname`` as the postgres superuser over the socket; keeps the newest KEEP files."""
    out = backup_dir(lay)
    out.mkdir(parents=True, exist_ok=True)
    argv = ["runuser", "-u", "postgres", "--", str(pg_bin / "pg_dump"), "-Fc", "-h", str(socket_dir)]
    done = subprocess.run(
        [*argv, "-p", str(port), dbname], capture_output=True, timeout=60, check=False, cwd=socket_dir.parent
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {done.stderr.decode(errors='replace').strip()[-300:]}")
    path = out / f"{dbname}-{time.strftime('%Y%m%d-%H%M%S')}.dump"
    path.write_bytes(done.stdout)
    for old in sorted(out.glob(PATTERN))[:-KEEP]:
        old.unlink()
    return path
