"""The playbook engine's records in the state DB: versions and lifecycle, account fields and
survey enrolments (tables of migration 0009)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tenure.state.models import AccountField, PlaybookState, PlaybookVersion, SurveyEnrolment, utcnow


def version_of(session: Session, pb: Any, *, create: bool = True) -> int:
    """The version number of the playbook's current content: an existing one when this content
    was seen before, else the next number (recorded unless `create` is False: a dry run)."""
    h = pb.content_hash
    found = session.scalar(select(PlaybookVersion.version).where(PlaybookVersion.name == pb.name,
                                                                 PlaybookVersion.content_hash == h))
    if found is not None:
        return int(found)
    latest = session.scalar(select(func.max(PlaybookVersion.version)).where(PlaybookVersion.name == pb.name)) or 0
    if create:
        session.add(PlaybookVersion(name=pb.name, version=latest + 1, content_hash=h,
                                    spec=pb.model_dump(mode="json", by_alias=True, exclude={"file"})))
        session.flush()
    return latest + 1


def lifecycle(session: Session, pb: Any, version: int, now: datetime | None = None) -> str | None:
    """Record the playbook's status and version; returns the status it had before when the status
    changed (None when new or unchanged), so the engine can apply on_pause / on_retire."""
    now = now or utcnow()
    st = session.get(PlaybookState, pb.name)
    if st is None:
        session.add(PlaybookState(name=pb.name, status=pb.status, version=version, status_changed_at=now))
        session.flush()
        return None
    before = st.status
    st.version = version
    if before != pb.status:
        st.status, st.status_changed_at = pb.status, now
        return before
    return None


def states(session: Session) -> dict[str, PlaybookState]:
    return {s.name: s for s in session.scalars(select(PlaybookState))}


def set_account_field(session: Session, account_id: str, name: str, value: str, *, source: str,
                      now: datetime | None = None) -> None:
    now = now or utcnow()
    row = session.scalar(select(AccountField).where(AccountField.account_id == account_id, AccountField.name == name))
    if row is None:
        session.add(AccountField(account_id=account_id, name=name, value=value, source=source, updated_at=now))
    else:
        row.value, row.source, row.updated_at = value, source, now
    session.flush()


def account_fields(session: Session, account_id: str) -> dict[str, str]:
    return dict(session.execute(select(AccountField.name, AccountField.value)
                                .where(AccountField.account_id == account_id)).all())


def enrol_in_survey(session: Session, program: str, account_id: str, contact_id: str | None, playbook: str,
                    dedupe_key: str, now: datetime | None = None) -> bool:
    """Enrol one contact in a survey program once (by dedupe key); True when new."""
    if session.scalar(select(SurveyEnrolment.id).where(SurveyEnrolment.dedupe_key == dedupe_key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SurveyEnrolment(program=program, account_id=account_id, contact_id=contact_id,
                                        playbook=playbook, dedupe_key=dedupe_key, created_at=now or utcnow()))
            session.flush()
    except IntegrityError:
        return False
    return True
