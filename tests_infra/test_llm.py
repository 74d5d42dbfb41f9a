"""The model server answers its listing and has every declared model.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("LLM-REACHABLE")
def test_llm_server_lists_models(llm, facts, explain):
    seen = facts.llm_models(llm)
    assert seen.status == 200 and seen.error is None, explain(
        expected=f"HTTP 200 with a model list from {llm.url}/api/tags",
        seen=seen.error or f"HTTP {seen.status}",
    )


@pytest.mark.check("LLM-MODEL-PRESENT")
def test_llm_model_present(llm_model, facts, explain):
    server, model = llm_model
    seen = facts.llm_models(server)
    assert seen.error is None and seen.has(model), explain(
        expected=f"model {model!r} listed by {server.url}/api/tags",
        seen=seen.error or f"model not found; listed: {', '.join(seen.names) or 'none'}",
    )
