"""The auth contract in the inventory: [auth] and [[auth]], defaults, and the rules on its keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from infragate.inventory import InventoryError, load_target
from infragate.inventory.auth import ErrorCase, auth_entry

ACCOUNT = 'username = "svc"\npassword_env = "T_AUTH_PASSWORD"\n'


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_AUTH_PASSWORD", "pw")
    monkeypatch.setenv("T_API_KEY", "key")


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "t.toml"
    path.write_text(text)
    return load_target(path)


def test_single_auth_table_is_one_entry_named_auth(tmp_path: Path) -> None:
    target = _load(tmp_path, f'[auth]\nlogin_url = "http://x.test/login"\n{ACCOUNT}')
    (entry,) = target.auth  # type: ignore[attr-defined]
    assert entry.name == "auth" and entry.login_body == "json" and entry.tokens.access == "access_token"
    assert entry.errors.missing == ErrorCase(401, "detail.code", "MISSING_TOKEN")
    assert entry.present.describe() == "Authorization: Bearer <token>" and entry.max_logins == 1


def test_several_auth_entries_by_name(tmp_path: Path) -> None:
    text = (
        f'[[auth]]\nname = "a"\nlogin_url = "http://x.test/login"\n{ACCOUNT}'
        f'[[auth]]\nname = "b"\nlogin_url = "http://y.test/token"\nlogin_body = "form"\n{ACCOUNT}'
        "errors.missing = { status = 401 }\n"
        '[[auth.api_keys]]\nname = "k"\nurls = ["http://y.test/v1"]\nkey_env = "T_API_KEY"\nquery = "key"\n'
    )
    target = _load(tmp_path, text)
    entries = target.auth  # type: ignore[attr-defined]
    b = auth_entry(entries, "b")
    assert [e.name for e in entries] == ["a", "b"] and b is not None and auth_entry(entries) is entries[0]
    assert b.login_body == "form" and b.errors.missing == ErrorCase(401)  # a declared case replaces it whole
    assert b.api_keys[0].placement.describe() == "query ?key=<token>"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ('tokens = { access = "a[" }\n', "tokens.access: not a JMESPath expression"),
        ("rate_limit = { max_attempts = 5 }\n", "rate_limit: needs probe_account"),
        (
            'errors.invalid = { status = 401, code = "X" }\n',
            "errors.invalid.code: code and code_path go together",
        ),
        ("max_logins = 0\n", "max_logins: must be at least 1"),
        ('present = { kind = "body" }\n', "present.kind: expected one of"),
        ('login_body = "xml"\n', "login_body: expected one of json, form"),
    ],
)
def test_auth_contract_rules(tmp_path: Path, extra: str, words: str) -> None:
    with pytest.raises(InventoryError, match=None) as err:
        _load(tmp_path, f'[auth]\nlogin_url = "http://x.test/login"\n{ACCOUNT}{extra}')
    assert words in str(err.value)


def test_two_auth_entries_need_names(tmp_path: Path) -> None:
    text = f'[[auth]]\nlogin_url = "http://x.test/a"\n{ACCOUNT}[[auth]]\nlogin_url = "http://x.test/b"\n{ACCOUNT}'
    with pytest.raises(InventoryError, match="names must be unique"):
        _load(tmp_path, text)
