"""nginx: ``nginx -t``, and ``nginx -T`` read with crossplane (comments, quotes, includes, inheritance)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import testinfra

from infragate.probes import nginx

LOCAL = testinfra.get_host("local://")

# A comment line right above the directive: the old hand-written reader split on ';' and then cut at '#',
# so the comment swallowed "proxy_set_header Upgrade $http_upgrade" (seen on a real nginx.conf).
COMMENTED = """\
# configuration file /etc/nginx/nginx.conf:
events {}
http {
    proxy_http_version 1.1;  # for every location
    include /etc/nginx/conf.d/*.conf;
}

# configuration file /etc/nginx/conf.d/app.conf:
server {
    listen 443 ssl;
    proxy_read_timeout 90s;
    location = /ws {
        proxy_pass http://app;
        # WebSocket upgrade (runbook 000); keep the two headers together
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";  # quoted, with a ';' in a comment
        proxy_buffering off;
        if ($http_x_debug) { proxy_buffering on; }
    }
    location /api { proxy_set_header Host $host; }
}

"""


def test_a_comment_line_above_a_directive_does_not_hide_it() -> None:
    loc = nginx.location(nginx.parse_dump(COMMENTED), "/ws")
    assert loc.found
    assert loc.values("proxy_set_header") == ["Upgrade $http_upgrade", "Connection upgrade"]
    assert nginx.ws_location_check(loc, 60).missing == ()


def test_includes_expanded_and_directives_inherited_from_enclosing_levels() -> None:
    config = nginx.parse_dump(COMMENTED)
    assert config.files == ("/etc/nginx/nginx.conf", "/etc/nginx/conf.d/app.conf")
    loc = nginx.location(config, "/ws")
    # from http and server; the `if` block's proxy_buffering is conditional, not in effect
    assert loc.values("proxy_http_version") == ["1.1"] and loc.values("proxy_read_timeout") == ["90s"]
    assert loc.values("proxy_buffering") == ["off"]
    check = nginx.ws_location_check(loc, 120)
    assert check.missing == ("proxy_read_timeout >= 120s (is 90s)",)


def test_missing_directives_and_location_named() -> None:
    api = nginx.location(nginx.parse_dump(COMMENTED), "/api")
    missing = nginx.ws_location_check(api, 60).missing
    assert missing[0] == "proxy_set_header Upgrade $http_upgrade" and "proxy_buffering off" in missing
    absent = nginx.ws_location_check(nginx.location(nginx.parse_dump(COMMENTED), "/chat"), 60)
    assert not absent.found and "no 'location /chat' block" in (absent.error or "")


def test_a_dump_without_file_sections_is_an_error() -> None:
    assert nginx.parse_dump("nginx: [emerg] something\n").error is not None
    broken = nginx.parse_dump("# configuration file /x.conf:\nhttp {\n").error
    assert broken == '/x.conf: line 1: unexpected end of file, expecting "}"'


def test_parse_duration() -> None:
    assert [nginx.parse_duration_s(v) for v in ("3600s", "1h", "60", "1m30s", "500ms", "soon")] == [
        3600,
        3600,
        60,
        90,
        0.5,
        None,
    ]


NGINX_CONF = """
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{}}
http {{
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    access_log off;
    include conf.d/*.conf;
}}
"""

SERVER = """
server {{
    listen 127.0.0.1:1;
    location /ws {{
        proxy_pass http://127.0.0.1:2;
        proxy_http_version 1.1;
        # upgrade headers
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_buffering off;
        proxy_read_timeout 1h;
    }}
    {extra}
}}
"""


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
@pytest.mark.parametrize("extra", ["", "bogus_directive on;"], ids=["valid", "invalid"])
def test_nginx_test_and_dump(tmp_path: Path, extra: str) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "conf.d").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=tmp_path))
    (tmp_path / "conf.d" / "app.conf").write_text(SERVER.format(extra=extra))
    result = nginx.config_test(LOCAL, "nginx", str(conf), str(tmp_path))
    assert result.ok == (extra == "")
    loc = nginx.location(nginx.dump(LOCAL, "nginx", str(conf), str(tmp_path)), "/ws")
    if extra:
        assert not result.ok and "bogus_directive" in result.output and not loc.found
    else:
        assert loc.values("proxy_http_version") == ["1.1"]
        assert "Connection upgrade" in loc.values("proxy_set_header")
        assert nginx.ws_location_check(loc, 3600).missing == ()
