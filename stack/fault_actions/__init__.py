"""Fault actions of later check areas, one module per area, each with a module-level ``ACTIONS`` dict.

Their data (expect_fail, breaks, message) lives in ``stack/faults.d/<area>.toml``.
"""
