"""Faults of the host's resources: memory, CPU load, a process's resident memory, the firewall, the GPUs.

The machine is shared with the rest of the suite, so the memory and CPU faults never load it: they swap
the stack's procfs view (stack/hostview.py, ``[host] procfs`` of inventory/local.toml) for RECORDED files
of an overloaded host, said so. The process-memory fault is real: Redis's maxmemory is raised and it is
filled past its declared ``max_rss_mb``. The firewall fault changes the live rules of the stack's own
network namespace. The GPU faults swap the recorded nvidia-smi answer (this machine has no GPU).
Data (expect_fail, messages): stack/faults.d/host.toml.
"""

from __future__ import annotations

import redis

from stack import hostview, proc, secretstore
from stack.faults import Action
from stack.hostview import HostView
from stack.layout import LOOPBACK
from stack.parts import Context

__all__ = ["ACTIONS"]

# /proc/meminfo of an 8 GiB host whose workers leak: 3.8 % available (recorded shape, values of a real
# incident's order). Only the fields HOST-MEMORY reads matter; the rest keep the file honest-looking.
MEMINFO_PRESSURE = """\
MemTotal:        8148416 kB
MemFree:          118264 kB
MemAvailable:     312480 kB
Buffers:            2104 kB
Cached:           301992 kB
SwapCached:        61440 kB
Active:          6912380 kB
Inactive:         702116 kB
SwapTotal:       2097148 kB
SwapFree:          40960 kB
"""
# A 2-CPU host with about 20 runnable tasks per CPU (a runaway worker pool), and its /proc/stat.
LOADAVG_OVERLOAD = "41.37 38.92 30.15 47/612 998877\n"
STAT_OVERLOAD = """\
cpu  9911623 812 1303554 154210 22991 0 31877 0 0 0
cpu0 4958210 402 651022 77301 11402 0 15931 0 0 0
cpu1 4953413 410 652532 76909 11589 0 15946 0 0 0
intr 0
ctxt 982113345
btime 1764600000
processes 998877
procs_running 41
procs_blocked 3
"""
RSS_KEY = "infragate:fault:rss:"
RSS_MAXMEMORY = 256 * 2**20
RSS_FILL_MB = 120
RSS_LIMIT_MB = 96  # inventory/local.toml, host.processes/redis max_rss_mb


def _view(ctx: Context) -> HostView:
    return HostView(ctx.lay)


def _recorded(files: dict[str, str]) -> Action:
    def apply(ctx: Context) -> None:
        for name, text in files.items():
            hostview.write_recorded(_view(ctx), name, text)

    def heal(ctx: Context) -> None:
        for name in files:
            hostview.link_real(_view(ctx), name)

    def real(ctx: Context) -> bool:
        return all(hostview.is_real(_view(ctx), name) for name in files)

    return Action(needs=(), broken=lambda ctx: not real(ctx), healthy=real, on_apply=apply, on_heal=heal)


# ------------------------------------------------------------------ Redis grows past its resident limit


def _redis(ctx: Context) -> redis.Redis:
    return redis.Redis(
        host=LOOPBACK,
        port=ctx.ports.redis,
        password=ctx.secrets()[secretstore.REDIS_PASSWORD],
        socket_timeout=10,
        socket_connect_timeout=2,
    )


def _rss_mb(ctx: Context) -> float:
    client = _redis(ctx)
    try:
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    with open(f"/proc/{pid}/status") as status:
        line = next(li for li in status if li.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _grow_redis(ctx: Context) -> None:
    saved = ctx.lay.fault_state / "redis-maxmemory.orig"
    client = _redis(ctx)
    try:
        if not saved.exists():
            saved.write_text(str(client.config_get("maxmemory")["maxmemory"]))
        # The misconfiguration: maxmemory raised far above what the host planned for this Redis.
        client.config_set("maxmemory", str(RSS_MAXMEMORY))
        value = b"r" * 2**20
        pipe = client.pipeline(transaction=False)
        for i in range(RSS_FILL_MB):  # bounded: 120 MiB of values, under the raised maxmemory
            pipe.set(f"{RSS_KEY}{i}", value)
        pipe.execute()
    finally:
        client.close()


def _shrink_redis(ctx: Context) -> None:
    saved = ctx.lay.fault_state / "redis-maxmemory.orig"
    client = _redis(ctx)
    try:
        keys = list(client.scan_iter(match=f"{RSS_KEY}*", count=500))
        if keys:
            client.unlink(*keys)
        if saved.exists():
            client.config_set("maxmemory", saved.read_text().strip())
            saved.unlink()
        # jemalloc keeps freed pages resident until purged: give them back so RSS falls at once.
        client.memory_purge()
    finally:
        client.close()
    proc.wait_until(lambda: _rss_mb(ctx) < RSS_LIMIT_MB, 10)


# ------------------------------------------------------------------ firewall drops the public HTTPS port


def _drop_https(ctx: Context) -> None:
    hostview.load_firewall(ctx, dropped=ctx.ports.nginx_https)


def _https_dropped(ctx: Context) -> bool:
    return f"tcp dport {ctx.ports.nginx_https} drop" in hostview.firewall_text(ctx)


def _gpu(csv: str) -> Action:
    def is_(ctx: Context, text: str) -> bool:
        path = _view(ctx).gpu_csv
        return path.exists() and path.read_text() == text

    return Action(
        needs=(),
        broken=lambda ctx: is_(ctx, csv),
        healthy=lambda ctx: is_(ctx, hostview.GPU_HEALTHY),
        on_apply=lambda ctx: hostview.write_gpu(_view(ctx), csv),
        on_heal=lambda ctx: hostview.write_gpu(_view(ctx), hostview.GPU_HEALTHY),
    )


ACTIONS: dict[str, Action] = {
    "host-memory-pressure": _recorded({"meminfo": MEMINFO_PRESSURE}),
    "host-cpu-overload": _recorded({"loadavg": LOADAVG_OVERLOAD, "stat": STAT_OVERLOAD}),
    "redis-rss-grown": Action(
        needs=("redis",),
        broken=lambda ctx: _rss_mb(ctx) > RSS_LIMIT_MB,
        healthy=lambda ctx: _rss_mb(ctx) < RSS_LIMIT_MB,
        on_apply=_grow_redis,
        on_heal=_shrink_redis,
    ),
    "firewall-port-dropped": Action(
        needs=(),
        broken=_https_dropped,
        healthy=lambda ctx: not _https_dropped(ctx),
        on_apply=_drop_https,
        on_heal=hostview.load_firewall,
    ),
    "gpu-memory-full": _gpu(hostview.GPU_FULL),
    "gpu-missing": _gpu(hostview.GPU_MISSING),
}
