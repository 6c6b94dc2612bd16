"""The jobs tests reuse the hand-worked company of tests/portfolio (as of 2026-06-30)."""

from tests.portfolio.conftest import company  # noqa: F401
