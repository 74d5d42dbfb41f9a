"""Logs on a host: error lines within a recent window, and whether a logrotate rule covers the file.

Read through a testinfra-like backend (``infragate.probes.host.Runner``); parsed here, never asserted.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from infragate.probes.host import Runner, read_file

__all__ = [
    "LogErrors",
    "LogScan",
    "LogrotateCoverage",
    "LogrotateRule",
    "host_now",
    "log_errors",
    "logrotate_coverage",
    "logrotate_rules",
    "scan_log",
]


# ISO 8601 (`2026-11-28 06:41:47`, `2026-11-28T06:41:47`) and nginx's error log (`2026/11/28 06:41:47`).
_TIMESTAMP = re.compile(r"(\d{4})[-/](\d\d)[-/](\d\d)[T ](\d\d):(\d\d):(\d\d)")


@dataclass(frozen=True)
class LogScan:
    """Lines matching an error pattern within a window, with the newest ones as examples."""

    matches: int
    examples: tuple[str, ...]
    scanned_lines: int


def scan_log(text: str, pattern: str, *, now: datetime, window: timedelta) -> LogScan:
    """Count lines matching ``pattern`` stamped within ``window`` before ``now`` (host-local times).

    A line without a timestamp belongs to the last stamped line above it (a traceback); lines before
    the first timestamp count as recent only when the file has no timestamps at all.
    """
    regex = re.compile(pattern)
    since = now - window
    has_stamps = _TIMESTAMP.search(text) is not None
    recent = not has_stamps
    matches: list[str] = []
    lines = text.splitlines()
    for line in lines:
        stamp = _TIMESTAMP.search(line[:40])
        if stamp:
            year, month, day, hour, minute, second = map(int, stamp.groups())
            recent = datetime(year, month, day, hour, minute, second) >= since
        if recent and regex.search(line):
            matches.append(line.strip()[:200])
    return LogScan(len(matches), tuple(matches[-3:]), len(lines))


def host_now(host: Runner) -> datetime:
    """The host's local wall-clock time (log timestamps are written in it)."""
    out = host.run("date +%s", "%Y-%m-%dT%H:%M:%S")
    return datetime.fromisoformat(out.stdout.strip())


# A log is read from its end: enough for a 15-minute window of any sane log, bounded for a runaway one.
LOG_TAIL_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class LogErrors:
    """Error lines of a log within the window, or why the log could not be read."""

    scan: LogScan | None
    window_minutes: float
    error: str | None = None


def log_errors(host: Runner, path: str, pattern: str, *, window_minutes: float) -> LogErrors:
    """Lines matching ``pattern`` within the last ``window_minutes`` (host-local timestamps)."""
    text, why = read_file(host, path, tail_bytes=LOG_TAIL_BYTES)
    if text is None:
        return LogErrors(None, window_minutes, why)
    now = host_now(host)
    return LogErrors(
        scan_log(text, pattern, now=now, window=timedelta(minutes=window_minutes)), window_minutes
    )


# ---------------------------------------------------------------- logrotate

# Lines inside these sections are shell script: their braces are not blocks.
_SCRIPT_WORDS = frozenset({"postrotate", "prerotate", "firstaction", "lastaction", "preremove"})
# Files logrotate skips in an included directory (its default "tabooext" list): a "app.disabled" or a
# packaging leftover is no rule.
_TABOO = (
    ".rpmorig",
    ".rpmsave",
    ",v",
    ".swp",
    ".rpmnew",
    "~",
    ".cfsaved",
    ".dpkg-dist",
    ".dpkg-old",
    ".dpkg-new",
    ".disabled",
    ".ucf-old",
    ".ucf-new",
    ".ucf-dist",
)


@dataclass(frozen=True)
class LogrotateRule:
    """One rule block: the file it was read from, its path patterns and its directive names."""

    file: str
    patterns: tuple[str, ...]
    directives: tuple[str, ...]

    def covers(self, path: str) -> str | None:
        """The pattern that matches ``path`` (glob(3) rules: ``*`` stays within a directory), or None."""
        target = PurePosixPath(path)
        for pattern in self.patterns:
            if pattern == path or (pattern.startswith("/") and target.match(pattern)):
                return pattern
        return None


def logrotate_rules(text: str, file: str) -> tuple[list[LogrotateRule], list[str]]:
    """The rule blocks of one logrotate configuration file, and the paths its ``include`` lines name.

    Patterns may span lines up to the ``{`` (logrotate reads them that way) and may be quoted.
    """
    rules: list[LogrotateRule] = []
    includes: list[str] = []
    pending: list[str] = []
    directives: list[str] | None = None
    in_script = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if in_script:
            in_script = line.split()[0] != "endscript"
            continue
        if directives is not None:
            if line.startswith("}"):
                rules.append(LogrotateRule(file, tuple(pending), tuple(directives)))
                pending, directives = [], None
                continue
            word = line.split()[0]
            in_script = word in _SCRIPT_WORDS
            directives.append(word)
            continue
        before, brace, after = line.partition("{")
        words = _words(before)
        if not brace and not pending and words and words[0] == "include" and len(words) > 1:
            includes.append(words[1])
            continue
        if brace or (words and words[0].startswith(("/", "~"))) or pending:
            pending.extend(words)
            if brace:
                inside, closed, _ = after.partition("}")
                directives = inside.split()[:1]
                if closed:  # a one-line block: "/var/log/x.log { size 10M }"
                    rules.append(LogrotateRule(file, tuple(pending), tuple(directives)))
                    pending, directives = [], None
    return rules, includes


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False)
    except ValueError:  # an unbalanced quote: logrotate itself would reject the file
        return text.split()


@dataclass(frozen=True)
class LogrotateCoverage:
    """The rule covering a log file, or what was read without finding one."""

    path: str
    rule: LogrotateRule | None = None
    pattern: str | None = None
    files_read: tuple[str, ...] = ()
    error: str | None = None

    @property
    def covered(self) -> bool:
        """A rule's pattern matches the file."""
        return self.rule is not None


_MARK = "@@infragate-logrotate-file "
# One round trip per level of includes: each path is a file (printed) or a directory (its files printed),
# each file after a mark line naming it. $1 is the mark; a missing path prints nothing.
_READ_CONFIGS = """
mark=$1; shift
for p in "$@"; do
  if [ -d "$p" ]; then
    for f in "$p"/*; do [ -f "$f" ] && printf '\\n%s%s\\n' "$mark" "$f" && cat -- "$f"; done
  elif [ -f "$p" ]; then
    printf '\\n%s%s\\n' "$mark" "$p" && cat -- "$p"
  fi
done
exit 0
"""


def _read_configs(host: Runner, paths: list[str]) -> dict[str, str]:
    out = host.run("sh -c %s sh %s" + " %s" * len(paths), _READ_CONFIGS, _MARK, *paths)
    files: dict[str, str] = {}
    for chunk in out.stdout.split("\n" + _MARK)[1:]:
        name, _, text = chunk.partition("\n")
        if not name.endswith(_TABOO):
            files[name] = text
    return files


def logrotate_coverage(host: Runner, path: str, configs: tuple[str, ...]) -> LogrotateCoverage:
    """Whether a logrotate rule in ``configs`` (files or directories, ``include`` lines followed) covers
    ``path``: what ``logrotate -d`` would consider, read as text so a remote host needs no logrotate."""
    seen: dict[str, str] = {}
    todo = list(configs)
    for _ in range(4):  # logrotate.conf includes logrotate.d; deeper nesting is rare
        todo = [p for p in dict.fromkeys(todo) if p not in seen]
        if not todo:
            break
        found = _read_configs(host, todo)
        seen.update(found)
        seen.update({p: "" for p in todo if p not in found})  # a directory or a missing path: done
        todo = []
        for name, text in found.items():
            rules, includes = logrotate_rules(text, name)
            for rule in rules:
                pattern = rule.covers(path)
                if pattern is not None:
                    return LogrotateCoverage(path, rule, pattern, tuple(n for n in seen if seen[n]))
            todo.extend(includes)
    read = tuple(n for n, text in seen.items() if text)
    if not read:
        return LogrotateCoverage(path, error=f"no logrotate configuration readable in {', '.join(configs)}")
    return LogrotateCoverage(path, files_read=read)
