"""`python -m shared.accounts_cli`: create the first administrator key, and manage keys offline."""

from __future__ import annotations

import click

from shared.accounts import AccountStore, Role, open_account_store
from shared.settings import BackendSettings


def _store() -> AccountStore:
    return open_account_store(BackendSettings().accounts_url)


@click.group()
def cli() -> None:
    """Organisations and API keys (ACCOUNTS_URL)."""


@cli.command("create-admin")
@click.option("--label", default="first administrator", show_default=True)
def create_admin(label: str) -> None:
    """Create an administrator key and print it once (it is stored only as a hash)."""
    info, secret = _store().create_key(Role.admin, label=label)
    click.echo(f"administrator key {info.id} created; keep it safe, it is not shown again:\n{secret}")


@cli.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key by its id."""
    click.echo("revoked" if _store().revoke_key(key_id) else "no active key with that id")


if __name__ == "__main__":
    cli()
