"""Running the steward's CLI in tests (with `env` from tests/unit/conftest.py): its output, or a failure."""

from __future__ import annotations

from click.testing import CliRunner

from services.ingest.cli import cli


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output
