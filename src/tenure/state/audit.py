"""The audit log: who changed what, when, with the values before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tenure.state.models import AuditLog

SECRET_FIELDS = {"password_hash", "token_hash", "password", "token"}


def _clean(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items() if k not in SECRET_FIELDS}


def record(session: Session, actor: str, action: str, entity: str, entity_id: str | None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None, ip: str | None = None) -> None:
    session.add(AuditLog(actor=actor, action=action, entity=entity, entity_id=entity_id,
                         before=_clean(before), after=_clean(after), ip=ip))
