"""The deployment part's Docker engine: our own dockerd under the run dir, and images from the Debian mirror.

Never the system's engine: its own socket, data root, exec root and pid file under ``<run>/docker``, no
iptables, no bridge (containers run with ``--network host``). No registry is reachable here, so the base
image is a Debian root file system built by mmdebstrap from the mirror apt uses, then ``docker import``ed;
the tarball is cached (``<run>/images``, or ``INFRAGATE_IMAGE_CACHE`` to share one between run dirs) and the
images live in the engine's data root, which ``stack down`` keeps. ``build_image`` builds an image FROM that
base with extra Debian packages (``docker build --network host``); with a shared cache it also ``docker
save``s the image there, and another engine ``docker load``s it instead of building it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from stack import proc
from stack.layout import Layout
from stack.parts import BASE_ENV, Context, Part, PartError

# Debian's own CLI matches Debian's engine (20.10): its `docker build` is the classic builder, which the
# newer CLI some machines have in /usr/local/bin only reaches through buildx.
DOCKER_CLI = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
SUITE = "bookworm"
# One base image for every container of the deployment part (keep images few): the compose project's
# app and worker (python3), PostgreSQL and Redis; procps for `ps` in a container (docker top, testinfra).
BASE_PACKAGES = ("python3", "postgresql", "redis-server", "procps", "ca-certificates")
BASE_REPO = "infragate/base"
BUILD_TIMEOUT = 600.0
CLI_TIMEOUT = 60.0
DOCKERD_STOP_TIMEOUT = 20.0


def docker_root(lay: Layout) -> Path:
    """Everything of our engine: data root, exec root, socket, pid file."""
    return lay.root / "docker"


def socket_path(lay: Layout) -> Path:
    """The engine's API socket (what DOCKER_HOST points at)."""
    return docker_root(lay) / "docker.sock"


def docker_host(lay: Layout) -> str:
    """DOCKER_HOST for our engine."""
    return f"unix://{socket_path(lay)}"


def exec_root(lay: Layout) -> Path:
    """dockerd's exec root (containerd's socket and state): kept short, a unix socket path has 108 bytes."""
    return docker_root(lay) / "x"


def image_cache(lay: Layout) -> Path:
    """Where base image tarballs are kept between builds."""
    raw = os.environ.get("INFRAGATE_IMAGE_CACHE", "").strip()
    return Path(raw).expanduser() if raw else lay.root / "images"


def cli_env(lay: Layout) -> dict[str, str]:
    """A minimal environment for the docker CLI and docker-compose, pointed at our engine only."""
    return {**BASE_ENV, "DOCKER_HOST": docker_host(lay), "DOCKER_CONFIG": str(docker_root(lay) / "config")}


def cli(
    lay: Layout, *args: str, timeout: float = CLI_TIMEOUT, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """The docker CLI against our engine; a failure raises RuntimeError with its stderr if ``check``."""
    done = subprocess.run(
        [DOCKER_CLI, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(lay),
        check=False,
    )
    if check and done.returncode != 0:
        why = done.stderr.strip()[-400:]
        raise RuntimeError(f"docker {' '.join(args[:3])}: exit {done.returncode}: {why}")
    return done


def ping(lay: Layout, timeout: float = 1.0) -> bool:
    """The engine answers GET /_ping on its socket with OK."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(socket_path(lay)))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(4096)
        except OSError:
            return False
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0] and reply.endswith(b"OK")


def wait_engine(lay: Layout, timeout: float = 30.0) -> None:
    """Wait until our engine answers (parts start in parallel: image builds and containers wait here)."""
    if not proc.wait_until(lambda: ping(lay), timeout, interval=0.1):
        raise RuntimeError(f"the Docker engine at {socket_path(lay)} did not answer within {timeout:.0f} s")


# ---------------------------------------------------------------------------- images


def debian_mirror() -> str:
    """The Debian mirror apt uses here (deb822 sources or sources.list), for mmdebstrap."""
    candidates = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in candidates:
        for stanza in path.read_text().split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.MULTILINE)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.MULTILINE)
            if uris and suites and SUITE in suites.group(1).split():
                return uris.group(1)
    for path in (Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))):
        with contextlib.suppress(FileNotFoundError):
            for line in path.read_text().splitlines():
                match = re.match(rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{SUITE}\s", line)
                if match:
                    return match.group(1)
    return "http://deb.debian.org/debian"


def base_tag(packages: tuple[str, ...] = BASE_PACKAGES) -> str:
    """The base image's reference: its content key (suite and packages) is the tag."""
    key = hashlib.sha256(f"{SUITE} {' '.join(sorted(packages))}".encode()).hexdigest()[:12]
    return f"{BASE_REPO}:{SUITE}-{key}"


def image_exists(lay: Layout, ref: str) -> bool:
    """The engine has an image with this reference."""
    return cli(lay, "image", "inspect", ref, check=False).returncode == 0


def _timing(lay: Layout, what: str, seconds: float) -> None:
    """Append a build time to <run>/docker/build-times.log (the issue asks for the image build time)."""
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {what} {seconds:.1f} s\n"
    with (docker_root(lay) / "build-times.log").open("a") as out:
        out.write(line)


def ensure_base(lay: Layout) -> str:
    """The base image in our engine: imported from the cached tarball, built by mmdebstrap if missing.

    Serialised by a lock in the image cache: deploy parts start in parallel and each needs the base
    (seen: the compose part and the systemd host both ran mmdebstrap into one partial tarball; the second
    rename failed, and the two builds took 409 s instead of about 240).
    """
    tag = base_tag()
    if image_exists(lay, tag):
        return tag
    cache = image_cache(lay)
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_base_locked(lay, tag, cache)


def _ensure_base_locked(lay: Layout, tag: str, cache: Path) -> str:
    if image_exists(lay, tag):  # built by whoever held the lock before us
        return tag
    tarball = cache / f"{tag.split(':', 1)[1]}.tar"
    if not tarball.exists():
        start = time.monotonic()
        partial = tarball.with_suffix(".partial.tar")
        argv = [
            "mmdebstrap",
            "--mode=root",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            # Documentation and apt lists are dead weight in an image (about 100 MB).
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--customize-hook=rm -rf $1/var/lib/apt/lists/* $1/var/cache/apt/*.bin",
            SUITE,
            str(partial),
            debian_mirror(),
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=BASE_ENV, check=False
        )
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"mmdebstrap failed (exit {done.returncode}): {done.stderr.strip()[-600:]}")
        partial.rename(tarball)
        _timing(lay, f"mmdebstrap {tag}", time.monotonic() - start)
    start = time.monotonic()
    cli(
        lay,
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        "ENV LANG=C.UTF-8",
        "--change",
        'CMD ["/bin/bash"]',
        str(tarball),
        tag,
        timeout=BUILD_TIMEOUT,
    )
    _timing(lay, f"docker import {tag}", time.monotonic() - start)
    return tag


def build_image(lay: Layout, name: str, packages: tuple[str, ...] = (), lines: tuple[str, ...] = ()) -> str:
    """An image FROM the base with extra Debian packages and Dockerfile ``lines``; built once per content.

    Returns its reference ``infragate/NAME:<content key>``; a changed package list or line is a new tag.
    """
    base = ensure_base(lay)
    dockerfile = [f"FROM {base}"]
    if packages:
        dockerfile.append(
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            f"{' '.join(packages)} && rm -rf /var/lib/apt/lists/*"
        )
    dockerfile.extend(lines)
    text = "\n".join(dockerfile) + "\n"
    ref = f"infragate/{name}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    if image_exists(lay, ref):
        return ref
    cache = image_cache(lay)
    cache.mkdir(parents=True, exist_ok=True)
    # Serialised per image in the cache: stacks sharing it (the e2e self-test's xdist workers, one engine
    # each) start at once; the first builds, the others then load what it saved instead of building again.
    with (cache / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_image_locked(lay, ref, text, cache)


def saved_image(cache: Path, ref: str) -> Path:
    """Where ``docker save`` keeps an image in the cache: one file per reference (its content key)."""
    return cache / (ref.replace("/", "_").replace(":", "-") + ".image.tar")


def _build_image_locked(lay: Layout, ref: str, dockerfile: str, cache: Path) -> str:
    if image_exists(lay, ref):  # loaded or built by whoever held the lock before us
        return ref
    saved = saved_image(cache, ref)
    if saved.exists():
        start = time.monotonic()
        done = cli(lay, "load", "-i", str(saved), timeout=BUILD_TIMEOUT, check=False)
        if done.returncode == 0 and image_exists(lay, ref):
            _timing(lay, f"docker load {ref}", time.monotonic() - start)
            return ref
        # A torn or unreadable file: build, and save over it below.
    start = time.monotonic()
    cli(lay, "build", "--network", "host", "-t", ref, "-", stdin=dockerfile, timeout=BUILD_TIMEOUT)
    _timing(lay, f"docker build {ref}", time.monotonic() - start)
    # Saved only into a cache shared on purpose (INFRAGATE_IMAGE_CACHE): a run dir's own engine keeps its
    # images across `stack down`, so a private copy would only take disk (about 500 MB).
    if os.environ.get("INFRAGATE_IMAGE_CACHE", "").strip():
        start = time.monotonic()
        partial = saved.with_name(saved.name + ".partial")
        try:
            done = cli(lay, "save", "-o", str(partial), ref, timeout=BUILD_TIMEOUT, check=False)
            saved_ok = done.returncode == 0
        except subprocess.TimeoutExpired:
            saved_ok = False
        if saved_ok:
            partial.rename(saved)
            _timing(lay, f"docker save {ref}", time.monotonic() - start)
        else:  # the image is built: a failed save costs the next engine a build, never this start
            partial.unlink(missing_ok=True)
    return ref


# ---------------------------------------------------------------------------- containers


def inspect(lay: Layout, name: str) -> dict[str, object] | None:
    """``docker inspect NAME`` as a dict, or None when there is no such container."""
    done = cli(lay, "inspect", "--type", "container", name, check=False)
    if done.returncode != 0:
        return None
    data = json.loads(done.stdout)
    return data[0] if data else None


def container_pid(lay: Layout, name: str) -> int | None:
    """The host PID of a running container's first process, or None."""
    done = cli(lay, "inspect", "--type", "container", "--format", "{{.State.Pid}}", name, check=False)
    pid = done.stdout.strip()
    return int(pid) if done.returncode == 0 and pid.isdigit() and int(pid) > 0 else None


def remove_all(lay: Layout) -> None:
    """Remove every container of our engine (stack down: nothing stays behind)."""
    ids = cli(lay, "ps", "-aq", check=False).stdout.split()
    if ids:
        cli(lay, "rm", "-f", *ids, check=False, timeout=CLI_TIMEOUT)


def _engine_leftovers(lay: Layout) -> list[tuple[int, int]]:
    """Processes of OUR engine still alive: containerd and its shims name our exec root in their argv."""
    marker = str(exec_root(lay)).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in argv:
            info = proc.proc_info(int(entry.name))
            if info is not None:
                found.append((int(entry.name), info.starttime))
    return found


def _mounts_under(root: Path) -> list[str]:
    """Mount points under ``root`` (deepest first), from /proc/self/mountinfo."""
    prefix = f"{root}/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        # Field 5 is the mount point, octal-escaped (\040 for a space).
        point = fields[4].encode().decode("unicode_escape") if len(fields) > 4 else ""
        if point.startswith(prefix):
            points.append(point)
    return sorted(points, key=len, reverse=True)


class DockerdPart(Part):
    """Our own Docker engine (dockerd 20.10 from Debian), everything under <run>/docker."""

    name = "dockerd"

    def ports(self) -> tuple[int, ...]:
        """No TCP port: the API is a unix socket under the run dir."""
        return ()

    def prepare(self) -> None:
        """The engine's directories; a stale socket from a killed engine is removed."""
        root = docker_root(self.ctx.lay)
        for path in (root / "data", exec_root(self.ctx.lay), root / "config"):
            path.mkdir(parents=True, exist_ok=True)
        socket_path(self.ctx.lay).unlink(missing_ok=True)

    def launch(self) -> int:
        """dockerd with no iptables, forwarding or bridge: containers use the host network."""
        root = docker_root(self.ctx.lay)
        argv = [
            "dockerd",
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--bridge=none",
            "--storage-driver=overlay2",
            f"--data-root={root / 'data'}",
            f"--exec-root={exec_root(self.ctx.lay)}",
            f"--host=unix://{socket_path(self.ctx.lay)}",
            f"--pidfile={root / 'dockerd.pid'}",
            # Containers keep their logs in the engine (json-file) so `docker logs --since` reads them.
            "--log-driver=json-file",
            "--log-opt=max-size=5m",
        ]
        return proc.spawn(argv, log=self.log_path(), env=BASE_ENV, cwd=root)

    def probe(self) -> bool:
        """GET /_ping on our socket answers OK."""
        return ping(self.ctx.lay)

    def before_stop(self) -> None:
        """Every container of our engine goes first (fast: removed, not waited for)."""
        if ping(self.ctx.lay):
            with contextlib.suppress(subprocess.TimeoutExpired):
                remove_all(self.ctx.lay)

    def stop(self) -> proc.PidRecord | None:
        """Stop dockerd by PID, then containerd and shims of our exec root (by PID) if any outlived it."""
        rec = self.running()
        if rec is None:
            proc.forget(self.ctx.lay.pids, self.name)
            self._stop_leftovers()
            return None
        self.before_stop()
        if not proc.stop(rec, ports=(), timeout=DOCKERD_STOP_TIMEOUT, send=lambda: self.send_stop(rec)):
            raise self.fail(f"pid {rec.pid} did not stop, even after SIGKILL")
        proc.forget(self.ctx.lay.pids, self.name)
        self._stop_leftovers()
        return rec

    def _stop_leftovers(self) -> None:
        leftovers = _engine_leftovers(self.ctx.lay)
        for pid, _ in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

        def alive() -> list[int]:
            return [p for p, s in leftovers if proc.is_alive(p, s)]

        if leftovers and not proc.wait_until(lambda: not alive(), 5.0):
            for pid in alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if alive():
            raise PartError(self.name, f"engine processes {alive()} did not stop")
        # dockerd leaves its default network namespace bind-mounted under the exec root (and a killed
        # engine its containers' overlays under the data root): unmount what is under OUR root only.
        for mountpoint in _mounts_under(docker_root(self.ctx.lay)):
            subprocess.run(["umount", "-l", mountpoint], capture_output=True, timeout=10, check=False)


def engine_ready(ctx: Context) -> None:
    """For parts that need the engine: wait for it, failing with the engine's log tail."""
    try:
        wait_engine(ctx.lay)
    except RuntimeError as err:
        raise DockerdPart(ctx).fail(str(err)) from None
