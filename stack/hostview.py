"""The stack host's resources as HOST-MEMORY, HOST-CPU-LOAD, HOST-FIREWALL-OPEN and HOST-GPU-MEMORY read them.

The machine under the stack is shared (other stacks, the suite itself, other builds): its real memory and
CPU are not the stack's to break, its firewall not the stack's to change, and it has no GPU. So:

- ``<run>/hostview/proc``: the ``[host] procfs`` of inventory/local.toml. Healthy, its ``meminfo``,
  ``loadavg`` and ``stat`` are symbolic links to the real ``/proc`` files (the healthy run reads the real
  machine); the memory and CPU faults replace them with RECORDED files of an overloaded host.
- a network namespace of the stack's own (``infragate-fw-<port base>``) with the nftables rules a host
  running this stack would have; ``[host.firewall] command`` lists them with ``ip netns exec``.
- ``<run>/hostview/bin/nvidia-smi``: a RECORDED nvidia-smi answering the one query infragate asks from
  ``<run>/hostview/gpu/query.csv`` (two GPUs); the GPU faults swap that answer.
"""

from __future__ import annotations

import shutil
import subprocess

from stack import config, layout
from stack.layout import Layout
from stack.parts import Context

PROC_FILES = ("meminfo", "loadavg", "stat")
QUERY = "--query-gpu=index,name,memory.used,memory.total --format=csv,noheader,nounits"
# nvidia-smi's answer to QUERY on a host with two 24 GiB cards serving models (shape of the documented
# csv,noheader,nounits output; this machine has no GPU).
GPU_HEALTHY = "0, NVIDIA GeForce RTX 3090, 9120, 24576\n1, NVIDIA GeForce RTX 3090, 7814, 24576\n"
GPU_FULL = "0, NVIDIA GeForce RTX 3090, 9120, 24576\n1, NVIDIA GeForce RTX 3090, 24310, 24576\n"
GPU_MISSING = "0, NVIDIA GeForce RTX 3090, 9120, 24576\n"
NVIDIA_SMI = """#!/bin/sh
# RECORDED nvidia-smi of the infragate reference stack (this machine has no GPU): it answers only the
# query HOST-GPU-MEMORY asks, from the recorded CSV beside it (stack/hostview.py).
if [ "$*" = "{query}" ]; then exec cat "{csv}"; fi
echo "recorded nvidia-smi: only '{query}' is recorded" >&2
exit 2
"""


class HostView:
    """Paths of the host view under the run dir."""

    def __init__(self, lay: Layout) -> None:
        self.root = lay.root / "hostview"
        self.procfs = self.root / "proc"
        self.nvidia_smi = self.root / "bin" / "nvidia-smi"
        self.gpu_csv = self.root / "gpu" / "query.csv"
        self.nft_conf = self.root / "firewall" / "nftables.conf"


def netns() -> str:
    """The stack's firewall namespace: one per port base, so side-by-side stacks never share one."""
    return f"infragate-fw-{layout.port_base()}"


def link_real(view: HostView, name: str) -> None:
    """``<view>/proc/<name>`` -> ``/proc/<name>``: the real machine."""
    path = view.procfs / name
    if path.is_symlink() and str(path.readlink()) == f"/proc/{name}":
        return
    path.unlink(missing_ok=True)
    path.symlink_to(f"/proc/{name}")


def write_recorded(view: HostView, name: str, text: str) -> None:
    """``<view>/proc/<name>`` becomes a recorded file (a fault)."""
    path = view.procfs / name
    path.unlink(missing_ok=True)
    path.write_text(text)


def is_real(view: HostView, name: str) -> bool:
    """The view's file is the link to the real /proc file."""
    path = view.procfs / name
    return path.is_symlink() and str(path.readlink()) == f"/proc/{name}"


def firewall_rules(ctx: Context, dropped: int | None = None) -> str:
    """The stack host's nftables rules: policy drop; ssh, HTTP and HTTPS open ("dropped" blocks one port)."""
    block = f"        tcp dport {dropped} drop\n" if dropped is not None else ""
    p = ctx.ports
    return (
        "flush ruleset\n"
        "table inet filter {\n"
        "    chain input {\n"
        "        type filter hook input priority 0; policy drop;\n"
        '        iif "lo" accept\n'
        "        ct state established,related accept\n"
        "        ct state invalid drop\n"
        f"{block}"
        f"        tcp dport {{ {p.sshd}, {p.nginx_http}, {p.nginx_https} }} accept\n"
        "        icmp type echo-request accept\n"
        "    }\n"
        "}\n"
    )


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def load_firewall(ctx: Context, dropped: int | None = None) -> None:
    """Create the namespace if missing and load the rules into it (replacing what was there)."""
    view = HostView(ctx.lay)
    view.nft_conf.parent.mkdir(parents=True, exist_ok=True)
    config.write_if_changed(view.nft_conf, firewall_rules(ctx, dropped), 0o644)
    if netns() not in _run(["ip", "netns", "list"]).stdout.split():
        made = _run(["ip", "netns", "add", netns()])
        if made.returncode != 0:
            raise RuntimeError(f"ip netns add {netns()}: {made.stderr.strip()}")
    loaded = _run(["ip", "netns", "exec", netns(), "nft", "-f", str(view.nft_conf)])
    if loaded.returncode != 0:
        raise RuntimeError(f"nft -f {view.nft_conf} in {netns()}: {loaded.stderr.strip()}")


def firewall_text(ctx: Context) -> str:
    """``nft list ruleset`` in the stack's namespace (empty when it does not exist)."""
    return _run(["ip", "netns", "exec", netns(), "nft", "list", "ruleset"]).stdout


def write_gpu(view: HostView, csv: str) -> None:
    """The recorded nvidia-smi answer."""
    config.write_if_changed(view.gpu_csv, csv, 0o644)


def ensure(ctx: Context) -> None:
    """The healthy view: real /proc links, the recorded nvidia-smi with two GPUs, the firewall loaded."""
    view = HostView(ctx.lay)
    for path in (view.procfs, view.nvidia_smi.parent, view.gpu_csv.parent):
        path.mkdir(parents=True, exist_ok=True)
    for name in PROC_FILES:
        link_real(view, name)
    write_gpu(view, GPU_HEALTHY)
    config.write_if_changed(view.nvidia_smi, NVIDIA_SMI.format(query=QUERY, csv=view.gpu_csv), 0o755)
    load_firewall(ctx)


def remove(ctx: Context) -> None:
    """``down``: delete the firewall namespace (the files stay with the run dir)."""
    if shutil.which("ip") and netns() in _run(["ip", "netns", "list"]).stdout.split():
        _run(["ip", "netns", "del", netns()])
