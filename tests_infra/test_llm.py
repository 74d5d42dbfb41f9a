"""The model server answers its listing, has every declared model and generates a short reply in time.

``kind`` (ollama or openai) picks the API; the facts have one shape for both.

PYTEST_DONT_REWRITE: the messages from ``explain`` say everything; pytest's introspection only adds noise.
"""

from __future__ import annotations

import pytest


@pytest.mark.check("LLM-REACHABLE")
def test_llm_server_lists_models(llm, facts, explain):
    seen = facts.llm_models(llm)
    assert seen.status == 200 and seen.error is None, explain(
        expected=f"HTTP 200 with a {llm.kind} model list from {seen.url}",
        seen=seen.error or f"HTTP {seen.status}",
    )


@pytest.mark.check("LLM-MODEL-PRESENT")
def test_llm_model_present(llm_model, facts, explain):
    server, model = llm_model
    seen = facts.llm_models(server)
    assert seen.error is None and seen.has(model), explain(
        expected=f"model {model!r} listed by {seen.url}",
        seen=seen.error or f"model not found; listed: {', '.join(seen.names) or 'none'}",
    )


@pytest.mark.check("LLM-LATENCY")
def test_llm_generates_within_budget(llm_probe, facts, threshold, explain):
    budget = threshold("max_generate_s")
    gen = facts.llm_generate(llm_probe, llm_probe.probe, budget)
    assert gen.error is None and gen.reply.strip() and gen.elapsed_s < budget, explain(
        expected=f"a reply from {llm_probe.probe!r} at {gen.url} within {budget:g} s "
        f"(at most {llm_probe.max_tokens} tokens)",
        seen=gen.error or f"{gen.elapsed_s:.2f} s, reply {gen.reply[:80]!r}",
    )
