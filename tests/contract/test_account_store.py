"""API keys: stored hashed, revocable, scoped to an organisation. The accounts port's contract:
every test runs on SQLite and on PostgreSQL (`state_location`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
import pytest

from shared.accounts import AccountStore, NameTaken, Role, UnknownOrganisation, open_account_store
from shared.sqlite import sqlite_file


@pytest.fixture
def store(state_location: str) -> Iterator[AccountStore]:
    store = open_account_store(state_location)
    yield store
    store.close()


def everything_stored(location: str) -> str:
    """Every row of every table, as text, read past the adapter."""
    if location.startswith("sqlite:"):
        return "\n".join(sqlite3.connect(sqlite_file(location)).iterdump())
    with psycopg.connect(location) as conn:
        tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        return "\n".join(str(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))


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


def test_secrets_are_stored_only_as_hashes(store: AccountStore, state_location: str) -> None:
    info, secret = store.create_key(Role.admin)
    dump = everything_stored(state_location)
    assert info.id in dump and secret.split("_", 2)[2] not in dump


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


def test_organisation_names_are_unique_and_listed_by_name(store: AccountStore) -> None:
    store.create_organisation("b council")
    store.create_organisation("Builder plc")
    with pytest.raises(NameTaken):
        store.create_organisation(" Builder plc ")
    # Code-point order on both backends (upper case first), whatever the database's locale.
    assert [o.name for o in store.organisations()] == ["Builder plc", "b council"]


def test_keys_are_listed_in_the_order_they_were_made_and_per_organisation(store: AccountStore) -> None:
    org = store.create_organisation("Builder plc")
    made = [store.create_key(Role.member, org.id, f"key {n}")[0] for n in range(5)]
    admin, _ = store.create_key(Role.admin, label="root")
    assert [k.id for k in store.keys(org.id)] == [k.id for k in made]
    every_key = store.keys()
    assert [k.id for k in every_key] == [k.id for k in (*made, admin)]
    assert store.key(admin.id) == admin and store.key("nope") is None
    assert admin.organisation_id is None and store.keys(org.id)[0].organisation_id == org.id


def test_any_text_a_caller_sends_is_kept_as_sent(store: AccountStore) -> None:
    """A NUL, backslashes and non-ASCII in a name or label (SQLite keeps them; PostgreSQL's text
    type refuses NUL, so its adapter escapes it) come back exactly."""
    name, label = "Nul\x00 \\0 back\\slash café", "\\\x00label\\"
    org = store.create_organisation(name)
    info, secret = store.create_key(Role.member, org.id, label)
    assert store.organisation(org.id) == org and org.name == name
    assert [k.label for k in store.keys(org.id)] == [label] and store.authenticate(secret) is not None
    with pytest.raises(NameTaken):
        store.create_organisation(name)


def test_a_second_store_on_the_same_location_sees_the_first_ones_keys(state_location: str) -> None:
    """What a distributed deployment needs: a key made through one process works in the others."""
    first, second = open_account_store(state_location), open_account_store(state_location)
    try:
        info, secret = first.create_key(Role.admin)
        assert second.authenticate(secret) is not None
        assert second.revoke_key(info.id) and first.authenticate(secret) is None
    finally:
        first.close()
        second.close()
