"""The inventory that describes this stack: inventory/ itself, or a copy shifted to its port base and run dir.

inventory/local.toml names the default stack (ports 184xx, run dir ../.run/stack/). A stack started with
INFRAGATE_STACK_PORT_BASE or INFRAGATE_RUN_DIR (a second developer, CI beside a demo, an xdist worker's
stack) needs the same file with its own ports and paths, or every check would probe someone else's stack.
With the deployment part on, the copy's local.toml IS local-deploy.toml (extending the plain file, renamed
local-plain.toml): the target keeps its name "local" in every test id and message.
"""

from __future__ import annotations

import re
from pathlib import Path

from stack import layout

ROOT = Path(__file__).resolve().parent.parent
FILES = ("local.toml", "local-deploy.toml")


def inventory_dir(out: Path | None = None) -> Path:
    """inventory/ for the default stack, else a shifted copy written to ``out`` (default <run>/inventory)."""
    base, run_dir = layout.port_base(), layout.run_dir()
    deploy = layout.deploy_requested()
    if base == layout.DEFAULT_PORT_BASE and run_dir == ROOT / ".run" / "stack" and not deploy:
        return ROOT / "inventory"
    out = out or run_dir / "inventory"
    out.mkdir(parents=True, exist_ok=True)
    names = {"local.toml": "local-plain.toml", "local-deploy.toml": "local.toml"} if deploy else {}
    for name in FILES:
        text = (ROOT / "inventory" / name).read_text()
        text = re.sub(r"\b184(\d\d)\b", lambda m: str(base + int(m.group(1))), text)
        # Everywhere, not only at the start of a path: process patterns name the run dir inside a regex.
        text = text.replace("../.run/stack/", f"{run_dir}/")
        # Repository files the inventory names (the compose file) stay where they are.
        text = text.replace('"../stack/', f'"{ROOT}/stack/')
        if deploy and name == "local-deploy.toml":
            text = re.sub(r'^extends = "local"$', 'extends = "local-plain"', text, flags=re.MULTILINE)
        (out / names.get(name, name)).write_text(text)
    return out
