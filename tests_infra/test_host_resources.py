"""Files keep their owner and mode, disks keep free space, logs stay quiet and small, apps are deployable.

Runbooks 000/002/003/004: ``ls -l``, ``df -h``, ``grep ERROR``, ``logrotate``, ``python -m py_compile``,
``pip install -r requirements.txt``, read on the machine through testinfra (the ``machine`` fixture).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("HOST-FILE-PERMISSIONS")
def test_file_owner_and_mode(host_file, file_stat, explain):
    assert file_stat.exists, explain(expected=f"{host_file.path} to exist", seen=file_stat.error)
    want = {
        "owner": host_file.owner,
        "group": host_file.group,
        "mode": None if host_file.mode is None else int(host_file.mode, 8),
    }
    seen = {"owner": file_stat.owner, "group": file_stat.group, "mode": file_stat.mode}
    wrong = [k for k, v in want.items() if v is not None and v != seen[k]]
    if host_file.secret and file_stat.world_readable:
        wrong.append("world-readable")
    assert not wrong, explain(
        expected=f"owner {host_file.owner or 'any'}, group {host_file.group or 'any'}, "
        f"mode {host_file.mode or 'any'}" + (", not world-readable (secret)" if host_file.secret else ""),
        seen=f"{file_stat.owner}:{file_stat.group} mode {file_stat.mode:04o} (wrong: {', '.join(wrong)})",
    )


@pytest.mark.check("HOST-DISK-FREE")
def test_disk_below_usage_limit(host_disk, disk_usage, threshold, explain):
    limit = threshold("max_used_pct")
    assert disk_usage.error is None, explain(expected=f"df of {host_disk.path}", seen=disk_usage.error)
    free_mib = disk_usage.avail_bytes / 2**20
    assert disk_usage.used_pct < limit, explain(
        expected=f"used < {limit:g}% on the file system of {host_disk.path}",
        seen=f"disk {disk_usage.used_pct:.1f}% used on {disk_usage.mount} ({free_mib:.1f} MiB free)",
    )


@pytest.mark.check("HOST-LOG-ERRORS")
def test_log_without_recent_errors(host_log, log_errors, threshold, explain):
    limit = threshold("max_errors")
    assert log_errors.scan is not None, explain(expected=f"{host_log.path} readable", seen=log_errors.error)
    scan = log_errors.scan
    assert scan.matches <= limit, explain(
        expected=f"at most {limit} lines matching {host_log.error_pattern!r} "
        f"in the last {log_errors.window_minutes:g} min",
        seen=f"{scan.matches} error lines, latest: {' | '.join(scan.examples)}",
    )


@pytest.mark.check("HOST-LOG-SIZE")
def test_log_below_size_limit(host_log, log_size, threshold, explain):
    limit_mb = threshold("max_size_mb")
    size, why = log_size
    assert size is not None, explain(expected=f"{host_log.path} to exist", seen=why)
    assert size < limit_mb * 2**20, explain(
        expected=f"{host_log.path} smaller than {limit_mb:g} MiB", seen=f"log is {size / 2**20:.1f} MiB"
    )


@pytest.mark.check("HOST-BINARY-DEPS")
def test_binary_libraries_resolve(host_binary, binary_missing_libraries, explain):
    missing, why = binary_missing_libraries
    assert why is None, explain(expected=f"ldd {host_binary.path} to list its libraries", seen=why)
    assert not missing, explain(
        expected=f"every shared library of {host_binary.path} found",
        seen=f"ldd: {', '.join(missing)} => not found",
    )


@pytest.mark.check("HOST-SOURCES-COMPILE")
def test_python_sources_compile(python_app, source_compile, explain):
    assert source_compile.error is None and source_compile.files > 0, explain(
        expected=f"Python sources under {python_app.sources} compiled by {python_app.python}",
        seen=source_compile.error or "no .py file found",
    )
    assert not source_compile.errors, explain(
        expected=f"all {source_compile.files} files of {python_app.sources} compile",
        seen=f"syntax error: {'; '.join(source_compile.errors[:3])}",
    )


@pytest.mark.check("HOST-PYTHON-DEPS")
def test_python_requirements_installed(python_app_requirements, requirements_missing, explain):
    missing, why = requirements_missing
    app = python_app_requirements
    assert why is None, explain(expected=f"{app.requirements} read by {app.python}", seen=why)
    assert not missing, explain(
        expected=f"every requirement of {app.requirements} installed for {app.python}",
        seen=f"not installed: {', '.join(missing)}",
    )
