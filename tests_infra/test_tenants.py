"""Every active user has its tenant schema, and each tenant schema has every table of the template
schema (no table missing, none left over).

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("AUTH-TENANT-SCHEMA")
def test_tenant_schemas_match_template(tenant_db, facts, explain):
    server, tenants = tenant_db
    state = facts.tenant_schemas(server, tenants)
    named = f"'{tenants.schema_template}'" if tenants.schema_column is None else tenants.schema_column
    expected = (
        f"a schema ({named}) for every active user of {tenants.users_table}, each with the tables of "
        f"{tenants.template_schema}"
    )
    assert state.error is None, explain(expected=expected, seen=f"could not read them: {state.error}")
    assert not state.problems, explain(
        expected=f"{expected} ({', '.join(state.template_tables)})",
        seen=f"{state.users} active users: {'; '.join(state.problems)}",
    )
