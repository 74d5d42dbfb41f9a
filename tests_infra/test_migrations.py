"""The database schema matches the deployed code: Alembic at its single head, declared tables present.

Runbook 003: ``alembic current`` / ``alembic heads``, "Multiple heads detected", "Can't locate revision",
"relation does not exist".

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("MIG-ALEMBIC-SINGLE-HEAD")
def test_alembic_single_head(alembic, alembic_heads, explain):
    heads, why = alembic_heads
    assert why is None, explain(expected=f"Alembic scripts readable in {alembic.scripts}", seen=why)
    assert len(heads) == 1, explain(
        expected=f"exactly one head in {alembic.scripts}",
        seen=f"multiple heads: {', '.join(heads) or 'none'}",
    )


@pytest.mark.check("MIG-ALEMBIC-AT-HEAD")
def test_alembic_at_head(alembic, alembic_state, explain):
    state = alembic_state
    assert state.error is None and state.scripts_error is None, explain(
        expected=f"the database revision and the heads of {alembic.scripts}",
        seen=state.error or state.scripts_error,
    )
    assert len(state.heads) == 1 and state.current == state.heads, explain(
        expected=f"database at head {', '.join(state.heads)}",
        seen=f"database at {', '.join(state.current) or 'no revision'}: not at head",
    )


@pytest.mark.check("MIG-ALEMBIC-KNOWN-REVISION")
def test_alembic_revision_known(alembic, alembic_state, explain):
    state = alembic_state
    assert state.error is None and state.scripts_error is None, explain(
        expected=f"the database revision and the scripts of {alembic.scripts}",
        seen=state.error or state.scripts_error,
    )
    assert not state.unknown, explain(
        expected=f"the database revision to exist in {alembic.scripts}",
        seen=f"can't locate revision {', '.join(state.unknown)} in the scripts",
    )


@pytest.mark.check("MIG-SQLX-APPLIED")
def test_sqlx_migrations_applied(sqlx, sqlx_state, explain):
    state = sqlx_state
    assert state.error is None, explain(
        expected=f"_sqlx_migrations and {sqlx.directory} readable", seen=state.error
    )
    problems = [
        *(f"pending {n}" for n in state.pending),
        *(f"failed {n}" for n in state.failed),
        *(f"checksum changed since applied {n}" for n in state.changed),
    ]
    assert not problems, explain(
        expected=f"all {state.files} migrations of {sqlx.directory} applied, successful, unchanged",
        seen="; ".join(problems),
    )


@pytest.mark.check("MIG-SCHEMA-OBJECTS")
def test_schema_objects_exist(schema_objects, schema_state, explain):
    assert schema_state.error is None, explain(
        expected=f"schema {schema_objects.schema} readable", seen=schema_state.error
    )
    missing = schema_state.missing(schema_objects.tables)
    assert not missing, explain(
        expected=f"tables and columns {', '.join(schema_objects.tables)} in schema {schema_objects.schema}",
        seen=f"relation does not exist: {', '.join(missing)}",
    )
