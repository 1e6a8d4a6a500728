"""API keys: stored hashed, revocable, scoped to an organisation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shared.accounts import AccountStore, Role, UnknownOrganisation


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    return AccountStore(str(tmp_path / "accounts.db"))


def test_a_member_key_authenticates_to_its_organisation_only(store: AccountStore) -> None:
    org, other = store.create_organisation("Builder plc"), store.create_organisation("Council")
    _, secret = store.create_key(Role.member, org.id, "finance team")
    caller = store.authenticate(secret)
    assert caller is not None and caller.role is Role.member
    assert caller.may_access(org.id) and not caller.may_access(other.id)


def test_admins_may_access_every_organisation(store: AccountStore) -> None:
    org = store.create_organisation("Builder plc")
    _, secret = store.create_key(Role.admin)
    caller = store.authenticate(secret)
    assert caller is not None and caller.may_access(org.id)


def test_secrets_are_stored_only_as_hashes(store: AccountStore, tmp_path: Path) -> None:
    _, secret = store.create_key(Role.admin)
    dump = "\n".join(sqlite3.connect(tmp_path / "accounts.db").iterdump())
    assert secret.split("_", 2)[2] not in dump


@pytest.mark.parametrize("presented", ["", "smk_", "smk_nope_nope", "Bearer x", "smk_a_b_c"])
def test_malformed_and_unknown_keys_are_refused(store: AccountStore, presented: str) -> None:
    store.create_key(Role.admin)
    assert store.authenticate(presented) is None


def test_a_tampered_secret_is_refused(store: AccountStore) -> None:
    _, secret = store.create_key(Role.admin)
    assert store.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


def test_revoked_keys_stop_working(store: AccountStore) -> None:
    info, secret = store.create_key(Role.admin)
    assert store.revoke_key(info.id) and not store.revoke_key(info.id)
    assert store.authenticate(secret) is None


def test_member_keys_need_an_existing_organisation(store: AccountStore) -> None:
    with pytest.raises(UnknownOrganisation):
        store.create_key(Role.member, "org_missing")
