"""OpenAI-compatible chat backend with RECORDED answers (no model can be downloaded here)."""
