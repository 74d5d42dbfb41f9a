"""Upload limits: the two uploads against a real loopback server that refuses like nginx does, the
body-size directive read from ``nginx -T`` text (inheritance, includes, nginx's default), and the
application's setting in bytes."""

from __future__ import annotations

import http.server
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infragate.inventory import InventoryError, build, load_target
from infragate.inventory.http import Upload
from infragate.probes import exchange, nginx, upload
from infragate.probes._base import Timeout
from infragate.probes.exchange import Outgoing
from infragate.probes.http import HttpAnswer
from selftest.unit.servers import http_server

LIMIT = 4096


def _proxy_and_app(proxy_limit: int, app_limit: int = LIMIT) -> Any:
    """nginx's client_max_body_size (by Content-Length, unread) in front of an app limiting the file."""

    def handle(req: http.server.BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        if length > proxy_limit:
            status, body, kind = 413, b"<html>413 Request Entity Too Large</html>", "text/html"
        else:
            data = req.rfile.read(length)
            raw = req.headers.get("Content-Type", "").startswith("application/octet-stream")
            size = len(data) if raw else data.count(b"\0")  # the generated file is all zero bytes
            too_large = size > app_limit
            status = 413 if too_large else 200
            body = b'{"error": {"code": "FILE_TOO_LARGE"}}' if too_large else b'{"stored": false}'
            kind = "application/json"
        req.send_response(status)
        req.send_header("Content-Type", kind)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    return handle


class _Ctx:
    """The part of the facts context the upload binding uses."""

    timeout = Timeout(2.0, 5.0)
    run_started = datetime.now(UTC)

    def trust(self, entry: object) -> None:
        return None

    def send(self, out: Outgoing, entry: object) -> HttpAnswer:
        return exchange.send(out, timeout=self.timeout)


def _entry(port: int, **extra: Any) -> Upload:
    spec = {"name": "up", "url": f"http://127.0.0.1:{port}/upload", "max_bytes": LIMIT, **extra}
    return build(Upload, spec, "http.upload[0]", Path("."))


DOCUMENTED = {"status": [413], "json": [{"path": "error.code", "equals": "FILE_TOO_LARGE"}]}


@pytest.mark.parametrize("body", ["multipart", "raw"])
def test_healthy_limits_refuse_above_and_take_below(body: str) -> None:
    with http_server(_proxy_and_app(2 * LIMIT)) as port:
        entry = _entry(port, body=body, expect=DOCUMENTED)
        above = upload.upload_answer(_Ctx(), entry, "above")  # type: ignore[arg-type]
        below = upload.upload_answer(_Ctx(), entry, "below")  # type: ignore[arg-type]
    assert (above.size, above.problem, above.status) == (LIMIT + 1, None, 413)
    assert (below.size, below.problem, below.status) == (LIMIT - 1, None, 200)


def test_proxy_limit_below_the_app_refuses_the_smaller_upload() -> None:
    with http_server(_proxy_and_app(LIMIT // 2)) as port:
        entry = _entry(port, expect=DOCUMENTED)
        above = upload.upload_answer(_Ctx(), entry, "above")  # type: ignore[arg-type]
        below = upload.upload_answer(_Ctx(), entry, "below")  # type: ignore[arg-type]
    assert below.problem == "refused with HTTP 413 (too large) below the limit"
    assert "text/html" in below.evidence
    assert above.problem is not None and "not JSON" in above.problem  # the documented error never came


def test_no_limit_at_all_fails_above() -> None:
    takes_anything = _proxy_and_app(100 * LIMIT, app_limit=100 * LIMIT)
    with http_server(takes_anything) as port:
        above = upload.upload_answer(_Ctx(), _entry(port, max_bytes=2 * LIMIT), "above")  # type: ignore[arg-type]
    assert (above.status, above.problem) == (200, "HTTP 200, expected 413")


def test_below_limit_5xx_and_declared_accept() -> None:
    with http_server(_proxy_and_app(2 * LIMIT)) as port:
        strict = _entry(port, accept={"status": [201]})
        below = upload.upload_answer(_Ctx(), strict, "below")  # type: ignore[arg-type]
    assert below.problem is not None and "201" in below.problem


def test_multipart_body_holds_one_file_part() -> None:
    body, content_type = upload.multipart("file", "x.bin", "application/octet-stream", b"abc")
    boundary = content_type.split("boundary=")[1]
    assert content_type.startswith("multipart/form-data; ")
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'name="file"; filename="x.bin"' in body and b"\r\n\r\nabc\r\n" in body


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("10m", 10 * 1024**2),
        ("512k", 512 * 1024),
        ("1048576", 1048576),
        ("1G", 1024**3),
        ("0", 0),
        ("1.5m", None),
    ],
)
def test_parse_size(text: str, size: int | None) -> None:
    assert upload.parse_size(text) == size


DUMP = """\
# configuration file /etc/nginx/nginx.conf:
events {}
http {
    client_max_body_size 8m;
    server {
        listen 443 ssl;
        client_max_body_size 2m;
        location = /api/upload { include /etc/nginx/upload.d/*.conf; proxy_pass http://app; }
        location /api/ { proxy_pass http://app; }
    }
    server { listen 80; location / { return 301 https://$host$request_uri; } }
}

# configuration file /etc/nginx/upload.d/lowered.conf:
client_max_body_size 512k;
"""


def test_body_limit_innermost_level_wins_and_includes_count() -> None:
    config = nginx.parse_dump(DUMP)
    assert upload.effective_body_limit(nginx.location(config, "/api/upload")) == ("512k", 512 * 1024)
    assert upload.effective_body_limit(nginx.location(config, "/api/")) == ("2m", 2 * 1024**2)


def test_body_limit_defaults_to_nginx_1m() -> None:
    config = nginx.parse_dump("# configuration file /n.conf:\nhttp { server { location / { } } }\n")
    assert upload.effective_body_limit(nginx.location(config, "/")) == ("1m", 1024**2)


@pytest.mark.parametrize(
    ("data", "unit", "expected"),
    [
        ({"MAX_FILE_SIZE": "1048576"}, "bytes", 1048576),
        ({"limits": {"max_file_size_mb": 10}}, "MiB", 10 * 1024**2),
        ({"MAX_FILE_SIZE": "50M"}, "bytes", 50 * 1024**2),
        ({"MAX_FILE_SIZE": "lots"}, "bytes", None),
        ({}, "bytes", None),
    ],
)
def test_setting_bytes(data: dict[str, Any], unit: str, expected: int | None) -> None:
    key = "limits.max_file_size_mb" if "limits" in data else "MAX_FILE_SIZE"
    assert upload.setting_bytes(data, key, unit)[0] == expected


def test_limits_compare_with_nginx_zero_as_unlimited() -> None:
    assert upload.UploadLimits("512k", 524288, "", 1048576).proxy_refuses_below_app
    assert not upload.UploadLimits("2m", 2097152, "", 1048576).proxy_refuses_below_app
    assert not upload.UploadLimits("0", 0, "", 1048576).proxy_refuses_below_app


def test_inventory_upload_entries(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text(
        '[[http.upload]]\nname = "u"\nurl = "https://x.test/upload"\nmax_bytes = 10\nbody = "raw"\n'
        '[proxy]\nnginx_conf = "/etc/nginx/nginx.conf"\n'
        '[[proxy.upload]]\nname = "u"\nlocation = "/upload"\nsettings = ".env"\n'
    )
    target = load_target(tmp_path / "t.toml")
    assert target.http.upload[0].body == "raw" and target.proxy[0].upload[0].settings == tmp_path / ".env"  # type: ignore[union-attr]
    (tmp_path / "t.toml").write_text(
        '[proxy]\nnginx_conf = "/n"\n[[proxy.upload]]\nname = "u"\nlocation = "/"\n'
    )
    with pytest.raises(InventoryError, match="declare the application's limit"):
        load_target(tmp_path / "t.toml")
