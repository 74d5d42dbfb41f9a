"""The HTTP and CORS probes against real loopback servers."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

from infragate.probes import cors, http
from infragate.probes._base import Failure, Timeout
from selftest.unit.servers import accept_silent, closed_port, full_backlog, http_server, reply

FAST = Timeout(connect=0.5, read=0.5)


def test_http_request_reports_status_body_and_type() -> None:
    with http_server(reply(200, "<html>hi</html>", {"Content-Type": "text/html; charset=utf-8"})) as port:
        answer = http.request(f"http://127.0.0.1:{port}/", timeout=FAST)
    assert (answer.status, answer.content_type, answer.body) == (200, "text/html", "<html>hi</html>")
    assert answer.error is None and not answer.unreachable


def test_http_request_does_not_follow_redirects() -> None:
    with http_server(reply(301, "", {"Location": "https://example.test/"})) as port:
        answer = http.request(f"http://127.0.0.1:{port}/", timeout=FAST)
    assert answer.status == 301 and answer.headers["location"] == "https://example.test/"


def test_http_request_parses_json() -> None:
    with http_server(reply(200, '{"status": "ok"}', {"Content-Type": "application/json"})) as port:
        answer = http.request(f"http://127.0.0.1:{port}/health", timeout=FAST)
    assert answer.json() == {"status": "ok"}


def test_http_request_refused_is_unreachable() -> None:
    answer = http.request(f"http://127.0.0.1:{closed_port()}/", timeout=FAST)
    assert answer.status is None and answer.unreachable and "refused" in (answer.error or "").lower()
    assert answer.failure is Failure.REFUSED


def test_http_request_full_backlog_is_connect_timeout() -> None:
    with full_backlog() as port:
        answer = http.request(f"http://127.0.0.1:{port}/", timeout=FAST)
    assert answer.failure is Failure.CONNECT_TIMEOUT and answer.unreachable


def test_http_request_accepted_but_silent_is_not_unreachable() -> None:
    with accept_silent() as port:
        answer = http.request(f"http://127.0.0.1:{port}/", timeout=FAST)
    assert answer.status is None and "timed out" in (answer.error or "")
    assert answer.failure is Failure.SILENT and not answer.unreachable


def test_https_request_silent_tls_port_is_silent() -> None:
    with accept_silent() as port:
        answer = http.request(f"https://127.0.0.1:{port}/", timeout=FAST)
    assert answer.failure is Failure.SILENT and not answer.unreachable


def test_http_error_status_is_an_answer_with_http_failure() -> None:
    with http_server(reply(503, "down")) as port:
        answer = http.request(f"http://127.0.0.1:{port}/", timeout=FAST)
    assert answer.status == 503 and answer.failure is Failure.HTTP and answer.error is None


def test_http_trickling_body_is_cut_at_the_deadline() -> None:
    def trickle(req: BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Length", "1000")
        req.end_headers()
        for _ in range(1000):  # one byte per 0.1 s: each read is on time, the whole is not
            req.wfile.write(b"x")
            req.wfile.flush()
            time.sleep(0.1)

    with http_server(trickle) as port:
        answer = http.request(f"http://127.0.0.1:{port}/", timeout=FAST, deadline=0.5)
    assert answer.status == 200 and "deadline" in (answer.error or "")
    assert 0 < len(answer.body) < 1000


def test_http_request_missing_ca_bundle_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    answer = http.request("https://127.0.0.1:1/", timeout=FAST, cafile=tmp_path / "nope.pem")
    assert answer.status is None and "CA bundle" in (answer.error or "")


def test_cors_preflight_reads_allow_headers() -> None:
    headers = {
        "Access-Control-Allow-Origin": "https://app.test",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
    }
    with http_server(reply(200, "", headers)) as port:
        answer = cors.preflight(
            f"http://127.0.0.1:{port}/api",
            origin="https://app.test",
            method="POST",
            request_headers=["Authorization"],
            timeout=FAST,
        )
    assert answer.allow_origin == "https://app.test" and answer.allow_credentials
    assert answer.allows_method("post") and answer.allows_header("authorization")
    assert not answer.allows_method("DELETE")


def test_cors_wildcard_does_not_cover_credentialed_methods() -> None:
    headers = {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "*",
    }
    with http_server(reply(204, "", headers)) as port:
        answer = cors.preflight(
            f"http://127.0.0.1:{port}/", origin="https://x.test", method="PUT", timeout=FAST
        )
    assert answer.allow_origin == "*" and not answer.allows_method("PUT")
