"""The history's chain is keyed: an HMAC with a key outside the database, rotatable.

Before this the chain was plain SHA-256: whoever could write to the database could edit an
event and recompute every hash after it, and ``flask audit verify`` said OK."""

from __future__ import annotations

import hashlib
import secrets

import pytest
from sqlalchemy import update

from tracker.config import ConfigError, load_config
from tracker.models import HistoryEvent
from tracker.ops_models import AuditChainHead
from tracker.safeguards import audit, audit_keys

from .test_audit_chain import chained, fields_of, some_history
from .test_audit_chain import fresh_chain as fresh_chain  # the fixture, for usefixtures

pytestmark = pytest.mark.usefixtures("fresh_chain")


def rewrite_chain(session, events, change, *, key: str | None, key_id: str | None) -> None:
    """What someone with the database alone would do: change an event and recompute the chain
    after it, with plain SHA-256 (``key`` None) or with a key of their own."""
    previous = events[0].prev_hash
    for index, event in enumerate(events):
        fields = {**fields_of(event), "hash_key_id": key_id, "prev_hash": previous}
        if index == 1:
            fields.update(change)
        document = audit.canonical(fields, previous)
        digest = audit_keys.mac(key, document) if key else hashlib.sha256(document).hexdigest()
        values = {**change} if index == 1 else {}
        session.execute(
            update(HistoryEvent)
            .where(HistoryEvent.id == event.id)
            .values(prev_hash=previous, hash=digest, hash_key_id=key_id, **values)
        )
        previous = digest
    session.execute(update(AuditChainHead).values(last_event_id=events[-1].id, last_hash=previous))
    session.expire_all()


def test_new_events_are_hmacs_with_the_configured_key(make, session, app):
    events = some_history(make)
    expected_id = audit_keys.key_id(app.config["AUDIT_KEY"])
    assert {event.hash_key_id for event in events} == {expected_id}
    first = events[0]
    document = audit.canonical({**fields_of(first), "hash_key_id": first.hash_key_id}, first.prev_hash)
    assert first.hash == audit_keys.mac(app.config["AUDIT_KEY"], document)
    assert first.hash != hashlib.sha256(document).hexdigest()
    assert audit.verify(session).ok


def test_a_chain_recomputed_without_the_key_is_caught(make, session):
    events = some_history(make)
    rewrite_chain(session, events, {"comment": "書き換え"}, key=None, key_id=None)
    verdict = audit.verify(session)
    assert not verdict.ok and verdict.problem == audit.UNKEYED_PROBLEM and verdict.event_id == events[0].id


def test_events_older_than_the_key_verify_up_to_the_id_set_outside_the_database(make, session, app):
    events = some_history(make)
    rewrite_chain(session, events, {}, key=None, key_id=None)  # as an installation before the key
    saved = app.config["AUDIT_UNKEYED_UNTIL"]
    try:
        app.config["AUDIT_UNKEYED_UNTIL"] = events[-1].id
        assert audit.verify(session).ok
        app.config["AUDIT_UNKEYED_UNTIL"] = events[-2].id
        assert audit.verify(session).event_id == events[-1].id
    finally:
        app.config["AUDIT_UNKEYED_UNTIL"] = saved


def test_a_chain_recomputed_with_a_guessed_key_is_caught(make, session, app):
    events = some_history(make)
    same_id = audit_keys.key_id(app.config["AUDIT_KEY"])
    rewrite_chain(
        session, events, {"comment": "書き換え"}, key="guessed-" + secrets.token_hex(16), key_id=same_id
    )
    verdict = audit.verify(session)
    assert not verdict.ok and verdict.event_id == events[0].id and "content changed" in verdict.problem


def test_rotation_keeps_old_events_verifiable_through_the_fallbacks(make, session, app):
    some_history(make)
    old_key, new_key = app.config["AUDIT_KEY"], secrets.token_hex(32)
    saved = app.config["AUDIT_KEY"], app.config["AUDIT_KEY_FALLBACKS"]
    try:
        app.config["AUDIT_KEY"], app.config["AUDIT_KEY_FALLBACKS"] = new_key, [old_key]
        make.request()  # made with the new key
        ids = {event.hash_key_id for event in chained(session)}
        assert ids == {audit_keys.key_id(old_key), audit_keys.key_id(new_key)}
        assert audit.verify(session).ok
        app.config["AUDIT_KEY_FALLBACKS"] = []  # the old key dropped too early
        verdict = audit.verify(session)
        assert not verdict.ok and "not configured" in verdict.problem
    finally:
        app.config["AUDIT_KEY"], app.config["AUDIT_KEY_FALLBACKS"] = saved


def test_the_key_id_names_the_key_without_giving_it_away():
    key = secrets.token_hex(32)
    assert len(audit_keys.key_id(key)) == 16 and audit_keys.key_id(key) not in key


@pytest.fixture
def clean_environment(monkeypatch):
    for name in ("SECRET_KEY", "AUDIT_KEY", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)


def test_served_without_an_audit_key_it_refuses_to_start(tmp_path, clean_environment):
    with pytest.raises(ConfigError, match="AUDIT_KEY is not set"):
        load_config(str(tmp_path), {"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32)})


@pytest.mark.parametrize("same_as_secret", [True, False])
def test_a_weak_or_reused_audit_key_is_refused(tmp_path, clean_environment, same_as_secret):
    secret = secrets.token_hex(32)
    audit_key = secret if same_as_secret else "short"
    with pytest.raises(ConfigError, match="AUDIT_KEY is too weak"):
        load_config(str(tmp_path), {"APP_ENV": "production", "SECRET_KEY": secret, "AUDIT_KEY": audit_key})


def test_a_strong_audit_key_of_its_own_starts(tmp_path, clean_environment):
    key = secrets.token_hex(32)
    config = load_config(
        str(tmp_path), {"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32), "AUDIT_KEY": key}
    )
    assert config["AUDIT_KEY"] == key
