"""Configuration documents: .env, TOML, JSON, YAML, INI parsed; settings typed, ranged and debug-checked."""

from __future__ import annotations

import pytest

from infragate.probes import config


def test_parse_env_and_lookup() -> None:
    values = config.parse_env("# c\nexport A=1\nB='two words'\nC=\nD=x # note\n")
    assert values == {"A": "1", "B": "two words", "C": "", "D": "x"}
    assert config.lookup({"a": {"b": 3}}, "a.b") == (True, 3)
    assert config.lookup({"a": {}}, "a.b") == (False, None)
    assert config.lookup({"a.b": 1, "a": {"b": 2}}, "a.b") == (True, 1)


def test_env_file_state_names_unset_and_empty_keys() -> None:
    state = config.env_file_state("A=1\nB=\n", "A=\nB=\nC=\n")
    assert state.unset == ("B", "C") and state.error is None


def test_env_values_are_typed_before_the_range_check() -> None:
    data = config.parse_config("DB_POOL_SIZE=5\nRATIO=0.5\nWORKERS=80\nNAME=five\n", "env")
    found = config.settings_check(
        data, ["DB_POOL_SIZE", "SECRET"], {"DB_POOL_SIZE": [1, 50], "RATIO": [0, 1], "WORKERS": [1, 50]}
    )
    assert found.missing == ("SECRET",)
    assert [(r.key, r.value) for r in found.out_of_range] == [("WORKERS", "80")]
    assert found.problems == ("SECRET missing", "WORKERS = '80' out of range [1, 50]")
    words = config.settings_check(data, [], {"NAME": [1, 5]})
    assert "NAME = 'five' out of range" in words.problems[0]


def test_typed_keeps_what_is_not_a_number() -> None:
    assert [config.typed(v) for v in ("5", " -3 ", "1e3", "0.25", "5a", True, 7)] == [
        5,
        -3,
        1000.0,
        0.25,
        "5a",
        True,
        7,
    ]


def test_booleans_are_not_numbers_in_a_range() -> None:
    found = config.settings_check({"a": True}, [], {"a": [0, 1]})
    assert [r.key for r in found.out_of_range] == ["a"]


def test_debug_absent_is_on_when_the_framework_default_is_on() -> None:
    keys = ("DEBUG", "debug", "LOG_LEVEL")
    assert config.debug_state({"LOG_LEVEL": "INFO"}, keys, default_on=False).on == ()
    on = config.debug_state({"LOG_LEVEL": "INFO"}, keys, default_on=True).on
    assert on == ("DEBUG / debug absent (the framework's default is on)",)
    assert config.debug_state({"DEBUG": "False"}, keys, default_on=True).on == ()
    assert config.debug_state({"DEBUG": "true", "LOG_LEVEL": "debug"}, keys, default_on=False).on == (
        "DEBUG = 'true'",
        "LOG_LEVEL = 'debug'",
    )


@pytest.mark.parametrize(
    ("fmt", "text", "words"),
    [
        ("yaml", "a: 1\npassword: [s3cret-value\n", "YAML: "),
        ("ini", "password = s3cret-value\n", "INI: line 1: no [section]"),
        ("ini", "[db]\npassword = s3cret-value\n  )(\n= s3cret-value\n", "INI: lines"),
        ("toml", 'password = "s3cret-value\n', "TOML: "),
        ("json", '{"password": "s3cret-value",}', "JSON: "),
    ],
)
def test_parse_errors_never_quote_the_line(fmt: str, text: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        config.parse_config(text, fmt)
    assert str(caught.value).startswith(words) and "s3cret" not in str(caught.value)
    assert "line" in str(caught.value)


def test_parse_config_formats() -> None:
    assert config.parse_config("[a]\nb = 1\n", "ini") == {"a": {"b": "1"}}
    assert config.parse_config("a:\n  b: 2\n", "yaml") == {"a": {"b": 2}}
    assert config.parse_config('{"a": 1}', "json") == {"a": 1}
    with pytest.raises(ValueError, match="top level is not an object"):
        config.parse_config("[1]", "json")
