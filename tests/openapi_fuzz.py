"""One way to point schemathesis at a service's `/openapi.json`, so every API is fuzzed alike."""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import settings
from schemathesis import GenerationMode


def fuzz_settings(max_examples: int, **overrides: Any) -> settings:
    """Hypothesis settings for a schemathesis test: no deadline (a first request loads the
    gazetteer; speed is not what these tests check) and the same bound as the schema's, which a
    bare `@settings(...)` would reset to hypothesis's default of 100 examples per operation."""
    return settings(deadline=None, max_examples=max_examples, **overrides)


def openapi_schema(app: Flask, max_examples: int) -> Any:
    """Positive and negative cases, deterministic so a failure reproduces, bounded per operation.

    A missing X-API-Key is "unauthenticated" (401, RFC 9110), not "not acceptable" (406), on every
    service that takes keys; services without keys never answer 401, so the rule costs them nothing.
    """
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=max_examples, deterministic=True
    )
    schema.config.checks.missing_required_header.expected_statuses = ["401"]
    return schema
