"""Schemathesis against the app's own OpenAPI schema, authenticated as admin: no 5xx, and every
response conforms to the documented status codes, media types and schemas.

Bounded (a few examples per operation, positive and negative data) so it stays well under two
minutes. Revoking tokens and disabling users are left out: random small ids would revoke the test
session's own tokens (both are in the permission matrix and the behaviour tests)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
# operations that fit models (10-20 s each on the demo): one valid case each; their parameters are
# covered by tests/api/test_health_risk_metrics.py and the permission matrix
HEAVY = {"POST /api/v1/risk/backtest": 1, "GET /api/v1/health/validation": 1}


def _describe(err: BaseException) -> str:
    parts = [f"{type(err).__name__}: {str(err)[:1500]}"]
    for sub in getattr(err, "exceptions", ()):
        parts.append("  - " + _describe(sub))
    if err.__cause__ is not None:
        parts.append("  caused by " + _describe(err.__cause__))
    return "\n".join(parts)


def _operations(demo_site):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", demo_site.app)
    schema = schema.exclude(method="DELETE", path_regex=r"^/api/v1/tokens/").exclude(path_regex=r"/disable$")
    for result in schema.get_all_operations():
        yield result.ok()


@pytest.mark.slow
def test_api_conforms_to_its_schema(writable_site):
    """On its own copy of the demo: the generated POST/PUT/PATCH cases really write (users, notes,
    forecast calls, tasks, uploads)."""
    headers = writable_site.auth("admin")
    failures: list[str] = []
    seen = 0
    for operation in _operations(writable_site):
        seen += 1
        for mode, n in EXAMPLES.items():
            if mode == GenerationMode.POSITIVE:
                n = HEAVY.get(operation.label, n)

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=n, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case):
                # a cold validation on a loaded 2-core machine can take longer than the 10 s default
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=180)

            try:
                check()
            except Unsatisfiable:  # no parameters to make invalid (negative mode)
                continue
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as err:  # gather every operation's failure, then report them together
                failures.append(f"{operation.label} [{mode.value}]: {_describe(err)}")
    assert not failures, "\n\n".join(failures)
    assert seen >= 25  # every operation but the two left out
