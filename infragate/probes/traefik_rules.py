"""Traefik router rules read as Traefik reads them, to tell whether a request path can match a router.

v3 syntax (default) and v2 (``ruleSyntax: v2``): a parser of matcher calls with Go string literals, !, &&,
|| and parentheses, and an evaluator that decides from the path alone (True, False, or None when a matcher
that reads the host, headers... decides). Split from ``traefik.py`` (the API reader). Nothing here asserts.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

__all__ = ["RuleError", "parse_rule", "path_matchers", "readable", "rule_covers"]


# Traefik v3 router rules (pkg/rules, vulcand/predicate): a Go expression of matcher calls whose arguments
# are Go string literals (`raw` or "interpreted"; single quotes are refused), combined with !, && (binds
# tighter) and ||, grouped with parentheses. Each matcher takes 1 argument, Header/HeaderRegexp 2,
# Query/QueryRegexp 1 or 2; a name is accepted as written, lower-, upper- or title-cased. A rule that does
# not parse is refused by Traefik (the router is disabled and matches nothing).
_ARITY = {
    "ClientIP": (1,),
    "Method": (1,),
    "Host": (1,),
    "HostRegexp": (1,),
    "Path": (1,),
    "PathRegexp": (1,),
    "PathPrefix": (1,),
    "Header": (2,),
    "HeaderRegexp": (2,),
    "Query": (1, 2),
    "QueryRegexp": (1, 2),
}
_NAMES = {
    spelling: name for name in _ARITY for spelling in (name, name.lower(), name.upper(), name.lower().title())
}
# Routers with ``ruleSyntax: v2`` (Traefik 3 still runs them; the API shows the field): the v2 matchers.
# Path and PathPrefix take one or more paths (any of them), each a gorilla/mux template: ``{name}`` is
# one segment, ``{name:regexp}`` a regexp; Path must match the whole path, PathPrefix its start. The
# other matchers (Host, HostRegexp, Headers, HeadersRegexp, Method, Query, ClientIP...) read no path.
_V2_MATCHERS = (
    "Path",
    "PathPrefix",
    "Host",
    "HostHeader",
    "HostRegexp",
    "Headers",
    "HeadersRegexp",
    "Method",
)
_V2_NAMES = {
    spelling: name
    for name in (*_V2_MATCHERS, "Query", "ClientIP")
    for spelling in (name, name.lower(), name.upper(), name.lower().title())
}
_TEMPLATE = re.compile(r"\{([^{}:]*)(?::((?:[^{}]|\{[^{}]*\})*))?\}")
_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||[!(),])|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|`(?P<raw>[^`]*)`"
    r'|"(?P<quoted>(?:[^"\\\n]|\\.)*)")'
)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|[abfnrtv\\\"]|.)")
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}

# A parsed rule: ("call", name, args) | ("not", node) | ("and", left, right) | ("or", left, right).
_Node = tuple[Any, ...]


class RuleError(ValueError):
    """The rule does not parse as Traefik v3 parses it (Traefik disables such a router)."""


def _go_string(body: str) -> str:
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[esc]
        if esc[0] in "xuU":
            return chr(int(esc[1:], 16))
        if esc[0] in "01234567" and len(esc) == 3:
            return chr(int(esc, 8))
        raise RuleError(f"unknown escape sequence \\{esc}")

    return _ESCAPE.sub(one, body)


def _tokens(rule: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, end = 0, len(rule.rstrip())
    while pos < end:
        m = _TOKEN.match(rule, pos)
        if m is None:
            raise RuleError(f"unexpected {rule[pos:].strip()[:20]!r}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        out.append(
            ("str", _go_string(text)) if kind == "quoted" else ("str" if kind == "raw" else kind, text)
        )
        pos = m.end()
    return out


def parse_rule(rule: str, syntax: str = "v3") -> _Node:
    """The expression tree of a router rule in Traefik's ``v3`` (default) or ``v2`` syntax; RuleError when
    Traefik would refuse it."""
    v2 = syntax == "v2"
    tokens = _tokens(rule)
    at = 0

    def peek() -> tuple[str, str] | None:
        return tokens[at] if at < len(tokens) else None

    def take(kind: str, text: str | None = None) -> str:
        nonlocal at
        token = peek()
        if token is None or token[0] != kind or (text is not None and token[1] != text):
            raise RuleError(f"expected {text or kind}, got {token[1] if token else 'end of rule'!r}")
        at += 1
        return token[1]

    def either() -> _Node:
        node = both()
        while peek() == ("op", "||"):
            take("op", "||")
            node = ("or", node, both())
        return node

    def both() -> _Node:
        node = unary()
        while peek() == ("op", "&&"):
            take("op", "&&")
            node = ("and", node, unary())
        return node

    def unary() -> _Node:
        token = peek()
        if token == ("op", "!"):
            take("op", "!")
            return ("not", unary())
        if token == ("op", "("):
            take("op", "(")
            node = either()
            take("op", ")")
            return node
        spelled = take("name")
        name = (_V2_NAMES if v2 else _NAMES).get(spelled)
        if name is None:
            raise RuleError(f"unknown matcher {spelled}")
        take("op", "(")
        args: list[str] = []
        if peek() != ("op", ")"):
            args.append(take("str"))
            while peek() == ("op", ","):
                take("op", ",")
                if peek() == ("op", ")"):  # Go allows a trailing comma in a call
                    break
                args.append(take("str"))
        take("op", ")")
        if v2:
            if not args:
                raise RuleError(f"{name} takes at least one argument")
            return ("call", f"v2:{name}", tuple(args))
        if len(args) not in _ARITY[name]:
            raise RuleError(
                f"{name} takes {' or '.join(map(str, _ARITY[name]))} argument(s), got {len(args)}"
            )
        if name in ("Path", "PathPrefix") and not args[0].startswith("/"):
            raise RuleError(f"path {args[0]!r} does not start with a '/'")
        return ("call", name, tuple(args))

    node = either()
    if peek() is not None:
        raise RuleError(f"unexpected {peek()[1]!r} after a complete rule")  # type: ignore[index]
    return node


def _path_regexp(pattern: str, location: str) -> bool | None:
    """Go's regexp.MatchString (unanchored search) when Python's re reads the pattern the same way; None
    (undecidable) for Go-only syntax (\\pL, [[:alpha:]], ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "possible nested set" ([[:alpha:]]): Python would read it otherwise
        try:
            compiled = re.compile(pattern.replace("\\z", "\\Z"))
        except (re.error, Warning):
            return None
    return compiled.search(location) is not None


def _v2_template(path: str) -> str:
    """A v2 path template as a regexp (literal text escaped; ``{name}`` one segment)."""
    out, pos = [], 0
    for m in _TEMPLATE.finditer(path):
        out.append(re.escape(path[pos : m.start()]))
        out.append(f"(?:{m.group(2)})" if m.group(2) else "[^/]+")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return "".join(out)


def _v2_path(name: str, paths: tuple[str, ...], location: str) -> bool | None:
    """v2 Path (whole path) or PathPrefix (its start) against any of ``paths``; None when a template's
    regexp is Go-only syntax."""
    undecided = False
    for path in paths:
        try:
            compiled = re.compile(_v2_template(path))
        except re.error:
            undecided = True
            continue
        hit = compiled.fullmatch(location) if name == "Path" else compiled.match(location)
        if hit is not None:
            return True
    return None if undecided else False


def _matches(node: _Node, location: str) -> bool | None:
    """Whether a request for ``location`` matches: True, False, or None when a matcher that does not read
    the path (Host, Header, Method, ...) decides."""
    kind = node[0]
    if kind == "not":
        inner = _matches(node[1], location)
        return None if inner is None else not inner
    if kind in ("and", "or"):
        left, right = _matches(node[1], location), _matches(node[2], location)
        if kind == "and":
            return False if False in (left, right) else (True if left and right else None)
        return True if True in (left, right) else (False if left is False and right is False else None)
    name: str = node[1]
    args: tuple[str, ...] = node[2]
    if name in ("v2:Path", "v2:PathPrefix"):
        return _v2_path(name[3:], args, location)
    if name.startswith("v2:"):
        return None
    if name == "Path":
        return location == args[0]
    if name == "PathPrefix":
        return location.startswith(args[0])  # a string prefix: /ws also matches /wsx
    if name == "PathRegexp":
        return _path_regexp(args[0], location)
    return None


def path_matchers(rule: str) -> list[tuple[str, str]]:
    """The ``Path``/``PathPrefix`` matchers of a router rule, as (matcher, path); negated ones left out
    (none for a rule Traefik refuses)."""
    found: list[tuple[str, str]] = []

    def walk(node: _Node, negated: bool) -> None:
        if node[0] == "not":
            walk(node[1], not negated)
        elif node[0] in ("and", "or"):
            walk(node[1], negated)
            walk(node[2], negated)
        elif node[1].removeprefix("v2:") in ("Path", "PathPrefix") and not negated:
            found.extend((node[1].removeprefix("v2:"), path) for path in node[2])

    try:
        walk(parse_rule(rule), False)
    except RuleError:
        return []
    return found


def rule_covers(rule: str, location: str, syntax: str = "v3") -> bool:
    """Whether a request to ``location`` can match the router rule (``syntax`` v3 or v2), judged from the
    path alone: Path, PathPrefix and PathRegexp decide, the other matchers may match (they read the host,
    headers, ...). A negated matcher taking the location, or a rule Traefik refuses, does not cover it."""
    try:
        tree = parse_rule(rule, syntax)
    except RuleError:
        return False
    return _matches(tree, location) is not False


def readable(rule: str, syntax: str = "v3") -> bool:
    """The rule parses in ``syntax`` as we read it."""
    try:
        parse_rule(rule, syntax)
    except RuleError:
        return False
    return True
