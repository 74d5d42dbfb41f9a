"""The database schema matches the deployed code: Alembic at its single head, declared tables present.

Runbook 003: ``alembic current`` / ``alembic heads``, "Multiple heads detected", "Can't locate revision",
"relation does not exist".

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("MIG-ALEMBIC-SINGLE-HEAD")
def test_alembic_single_head(alembic, facts, explain):
    scripts = facts.alembic_heads(alembic)
    assert scripts.error is None, explain(
        expected=f"Alembic scripts readable in {alembic.scripts}", seen=scripts.error
    )
    assert len(scripts.heads) == 1, explain(
        expected=f"exactly one head in {alembic.scripts}",
        seen=f"multiple heads: {', '.join(scripts.heads) or 'none'}",
    )


@pytest.mark.check("MIG-ALEMBIC-AT-HEAD")
def test_alembic_at_head(alembic, facts, explain):
    state = facts.alembic_state(alembic)
    assert state.error is None and state.scripts_error is None, explain(
        expected=f"the database revision and the heads of {alembic.scripts}",
        seen=state.error or state.scripts_error,
    )
    assert len(state.heads) == 1 and state.current == state.heads, explain(
        expected=f"database at head {', '.join(state.heads)}",
        seen=f"database at {', '.join(state.current) or 'no revision'}: not at head",
    )


@pytest.mark.check("MIG-ALEMBIC-KNOWN-REVISION")
def test_alembic_revision_known(alembic, facts, explain):
    state = facts.alembic_state(alembic)
    assert state.error is None and state.scripts_error is None, explain(
        expected=f"the database revision and the scripts of {alembic.scripts}",
        seen=state.error or state.scripts_error,
    )
    assert not state.unknown, explain(
        expected=f"the database revision to exist in {alembic.scripts}",
        seen=f"can't locate revision {', '.join(state.unknown)} in the scripts",
    )


@pytest.mark.check("MIG-SQLX-APPLIED")
def test_sqlx_migrations_applied(sqlx, facts, explain):
    state = facts.sqlx_state(sqlx)
    assert state.error is None, explain(
        expected=f"_sqlx_migrations and {sqlx.directory} readable", seen=state.error
    )
    assert not state.problems, explain(
        expected=f"all {state.files} migrations of {sqlx.directory} applied, successful, unchanged",
        seen="; ".join(state.problems),
    )


@pytest.mark.check("MIG-SCHEMA-OBJECTS")
def test_schema_objects_exist(schema_objects, facts, explain):
    state = facts.schema_objects(schema_objects)
    assert state.error is None, explain(expected=f"schema {schema_objects.schema} readable", seen=state.error)
    assert not state.missing, explain(
        expected=f"tables and columns {', '.join(schema_objects.tables)} in schema {schema_objects.schema}",
        seen=f"relation does not exist: {', '.join(state.missing)}",
    )
