"""Deployed directories read through the host's transport (infragate/probes/remote_tree.py): through a
non-local transport the DEPLOYED Alembic scripts and sqlx files are judged, not the gate machine's path.

The "remote" host is testinfra's local backend given a non-local transport name, so the real command
(tar | base64 through the host's run) and the real unpacking run; only the network hop is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import testinfra

from infragate.probes import migrations, remote_tree

ROOT = Path(__file__).resolve().parents[2]
HOST = testinfra.get_host("local://")


def test_local_transport_reads_in_place(tmp_path: Path) -> None:
    assert remote_tree.fetch(HOST, "local://", tmp_path) == remote_tree.Tree(tmp_path)


def test_remote_alembic_scripts_are_copied_then_read(tmp_path: Path) -> None:
    deployed = tmp_path / "deployed"
    shutil.copytree(ROOT / "stack" / "migrations", deployed)
    tree = remote_tree.fetch(HOST, "ssh://app-1", deployed)
    assert tree.error is None and tree.path is not None and tree.path != deployed
    assert migrations.script_heads(tree.path) == migrations.ScriptHeads(("b2c3d4e5f6a7",))
    # A new head deployed on the host is what the next copy sees.
    (deployed / "versions" / "c3_next.py").write_text(
        'revision = "c3"\ndown_revision = "b2c3d4e5f6a7"\nbranch_labels = None\ndepends_on = None\n'
    )
    again = remote_tree.fetch(HOST, "ssh://app-1", deployed)
    assert again.path is not None and migrations.script_heads(again.path).heads == ("c3",)


def test_remote_sqlx_files_keep_their_checksums(tmp_path: Path) -> None:
    source = ROOT / "stack" / "sqlx_migrations"
    tree = remote_tree.fetch(HOST, "docker://app", source)
    assert tree.path is not None
    assert migrations.sqlx_files(tree.path) == migrations.sqlx_files(source)


def test_missing_remote_directory_says_where(tmp_path: Path) -> None:
    tree = remote_tree.fetch(HOST, "ssh://app-1", tmp_path / "absent")
    assert tree.path is None and tree.error is not None
    assert str(tmp_path / "absent") in tree.error and "on the host" in tree.error
