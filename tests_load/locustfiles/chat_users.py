"""LOAD-LLM-CHAT: a few concurrent requests to a slow chat endpoint (runbook 001: answers under 15 s)."""

from __future__ import annotations

from _infragate import ScenarioHttpUser


class ChatUser(ScenarioHttpUser):
    """A person asking the assistant questions; each answer takes seconds, so few users suffice."""

    checks = ("LOAD-LLM-CHAT",)
