"""Files keep their owner and mode, disks keep free space, logs stay quiet, small and rotated, apps deploy.

Runbooks 000/002/003/004: ``ls -l``, ``df -h``, ``grep ERROR``, ``logrotate``, ``ldd``, ``python -m
py_compile``, ``pip install -r requirements.txt``, run on the machine through ``[host] transport``
(testinfra), Python checks with the app's own interpreter.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-FILE-PERMISSIONS")
def test_file_owner_and_mode(host_file, facts, explain):
    found = facts.file_permissions(host_file)
    stat = found.stat
    assert stat.exists, explain(expected=f"{host_file.path} to exist", seen=stat.error)
    assert not found.wrong, explain(
        expected=f"owner {host_file.owner or 'any'}, group {host_file.group or 'any'}, "
        f"mode {host_file.mode or 'any'}" + (", not world-readable (secret)" if host_file.secret else ""),
        seen=f"{stat.owner}:{stat.group} mode {stat.mode:04o} (wrong: {', '.join(found.wrong)})",
    )


@pytest.mark.check("HOST-DISK-FREE")
def test_disk_below_usage_limit(host_disk, facts, threshold, explain):
    usage = facts.disk_usage(host_disk)
    limit = threshold("max_used_pct")
    assert usage.error is None, explain(expected=f"df of {host_disk.path}", seen=usage.error)
    assert usage.used_pct < limit, explain(
        expected=f"used < {limit:g}% on the file system of {host_disk.path}",
        seen=f"disk {usage.used_pct:.1f}% used on {usage.mount} ({usage.avail_bytes / 2**20:.1f} MiB free)",
    )


@pytest.mark.check("HOST-LOG-ERRORS")
def test_log_without_recent_errors(host_log, facts, threshold, explain):
    found = facts.log_errors(host_log, threshold("window_minutes"))
    limit = threshold("max_errors")
    assert found.scan is not None, explain(expected=f"{host_log.path} readable", seen=found.error)
    assert found.scan.matches <= limit, explain(
        expected=f"at most {limit} lines matching {host_log.error_pattern!r} "
        f"in the last {found.window_minutes:g} min",
        seen=f"{found.scan.matches} error lines, latest: {' | '.join(found.scan.examples)}",
    )


@pytest.mark.check("HOST-LOG-SIZE")
def test_log_below_size_limit(host_log, facts, threshold, explain):
    size = facts.log_size(host_log)
    limit_mb = threshold("max_size_mb")
    assert size.size_bytes is not None, explain(expected=f"{host_log.path} to exist", seen=size.error)
    assert size.size_bytes < limit_mb * 2**20, explain(
        expected=f"{host_log.path} smaller than {limit_mb:g} MiB",
        seen=f"log is {size.size_bytes / 2**20:.1f} MiB",
    )


@pytest.mark.check("HOST-LOG-SIZE")
def test_log_covered_by_logrotate(host_log, facts, explain):
    rotation = facts.log_rotation(host_log)
    assert rotation.error is None, explain(
        expected=f"a logrotate rule covering {host_log.path}", seen=rotation.error
    )
    assert rotation.covered, explain(
        expected=f"a logrotate rule covering {host_log.path}",
        seen=f"no rule's path pattern matches it in {len(rotation.files_read)} files read "
        f"({', '.join(rotation.files_read[:4])}{', ...' if len(rotation.files_read) > 4 else ''})",
    )


@pytest.mark.check("HOST-BINARY-DEPS")
def test_binary_libraries_resolve(host_binary, facts, explain):
    missing = facts.binary_libraries(host_binary)
    assert missing.error is None, explain(
        expected=f"ldd {host_binary.path} to list its libraries", seen=missing.error
    )
    assert not missing.items, explain(
        expected=f"every shared library of {host_binary.path} found",
        seen=f"ldd: {', '.join(missing.items)} => not found",
    )


@pytest.mark.check("HOST-SOURCES-COMPILE")
def test_python_sources_compile(python_app, facts, explain):
    compiled = facts.python_sources(python_app)
    assert compiled.error is None and compiled.files > 0, explain(
        expected=f"Python sources under {python_app.sources} compiled by {python_app.python}",
        seen=compiled.error or f"no .py file found ({len(compiled.skipped)} directories skipped)",
    )
    assert not compiled.errors, explain(
        expected=f"all {compiled.files} files of {python_app.sources} compile",
        seen=f"syntax error: {'; '.join(compiled.errors[:3])}",
    )


@pytest.mark.check("HOST-PYTHON-DEPS")
def test_python_requirements_installed(python_app_requirements, facts, explain):
    app = python_app_requirements
    missing = facts.python_requirements(app)
    assert missing.error is None, explain(
        expected=f"{app.requirements} read by {app.python}", seen=missing.error
    )
    assert not missing.items, explain(
        expected=f"every requirement of {app.requirements} installed for {app.python}",
        seen=f"not installed: {', '.join(missing.items)}",
    )
