"""State DB on SQLite and PostgreSQL: migrations, users, tokens, audit, ingest runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tenure.errors import InputError
from tenure.state import tokens, users
from tenure.state.db import current_revision, head_revision, make_engine, session_scope, table_names, upgrade
from tenure.state.models import ApiToken, AuditLog, Base, utcnow
from tenure.state.runs import list_runs, record_run


def test_migrations_apply_from_empty_and_are_idempotent(state_url):
    assert upgrade(state_url) == head_revision()
    assert upgrade(state_url) == head_revision()
    assert {"users", "api_tokens", "audit_log", "ingest_runs", "notes"} <= set(table_names(state_url))
    assert current_revision(state_url) == head_revision()


def test_models_and_migrations_do_not_drift(state_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    upgrade(state_url)
    with make_engine(state_url).connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), Base.metadata)
    assert diff == []


def test_users_passwords_and_audit(state_url):
    with session_scope(state_url) as s:
        users.create_user(s, "mia", "correct horse", "manager", actor="admin")
        users.create_user(s, "ana", "battery staple", "csm", manager="mia", actor="admin")
        with pytest.raises(InputError, match="already exists"):
            users.create_user(s, "ana", "battery staple", "csm")
        with pytest.raises(InputError, match="role"):
            users.create_user(s, "bob", "battery staple", "boss")
    with session_scope(state_url) as s:
        stored = users.get(s, "ana")
        assert stored.password_hash.startswith("$argon2") and "battery" not in stored.password_hash
        assert stored.csm_key == "ana" and stored.manager_id == users.get(s, "mia").id
        assert users.verify_password(s, "ana", "battery staple") is not None
        assert users.verify_password(s, "ana", "wrong password") is None
        users.disable(s, "ana", actor="admin")
    with session_scope(state_url) as s:
        assert users.verify_password(s, "ana", "battery staple") is None
        log = s.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        assert [(a.action, a.entity_id) for a in log] == [("create", "mia"), ("create", "ana"), ("disable", "ana")]
        assert log[2].before["active"] is True and log[2].after["active"] is False
        assert all("password_hash" not in (a.after or {}) for a in log)


def test_tokens_hashed_scoped_revocable_and_expiring(state_url):
    with session_scope(state_url) as s:
        users.create_user(s, "eve", "long enough", "executive")
        token, secret = tokens.create_token(s, "eve", "ci", ["read"])
        old, old_secret = tokens.create_token(s, "eve", "old", ["read", "write"], expires_days=1)
        tid, old_id = token.id, old.id
    with session_scope(state_url) as s:
        assert secret not in {t.token_hash for t in s.scalars(select(ApiToken))}
        user, scopes = tokens.verify_token(s, secret)
        assert user.username == "eve" and scopes == ["read"]
        s.get(ApiToken, old_id).expires_at = utcnow() - timedelta(seconds=1)
    with session_scope(state_url) as s:
        assert tokens.verify_token(s, old_secret) is None
        tokens.revoke(s, tid)
    with session_scope(state_url) as s:
        assert tokens.verify_token(s, secret) is None
        assert tokens.verify_token(s, "tnr_not-a-token") is None


def test_record_run_is_idempotent(state_url):
    run = {"run_id": "r1", "entity": "accounts", "file": "a.csv", "source": "file", "status": "loaded",
           "rows_read": 3, "loaded": 3, "inserted": 3, "updated": 0, "unchanged": 0, "rejected": 0,
           "rejected_by_reason": {}, "report_path": "x", "started_at": "2026-01-01T00:00:00",
           "finished_at": "2026-01-01T00:00:01"}
    record_run(state_url, run)
    record_run(state_url, {**run, "status": "partial", "rejected": 1})
    runs = list_runs(state_url)
    assert len(runs) == 1 and runs[0]["status"] == "partial"
