"""Leases in the state DB: at most one process runs a given worker job at a time.

A lease row (`worker_leases`) names its holder (host:pid:random) and when it expires. Taking it
is a compare-and-set on its fencing `token`, which goes up by one at every acquisition, so of
two processes racing for a free lease exactly one wins, on SQLite and on PostgreSQL alike. A
lease is free when it expired, was released, or its holder is a process on this host that no
longer exists (a worker killed with `kill -9` does not block its job until expiry).

The holder renews it while the job runs (`renew`, every third of its length). Writes that must
not happen after another process took over call `check(session)` inside their own transaction:
it fails unless the lease still carries this holder's token, and locks the lease row until that
transaction ends (the fencing check).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tenure.errors import TenureError
from tenure.jobs.db import session as session_scope
from tenure.state.models import WorkerLease, utcnow
from tenure.warehouse.processes import pid_alive


class LeaseLost(TenureError):
    """Another process took this lease over (it expired): stop and leave the work to it."""


def _host() -> str:
    return socket.gethostname()[:200]


def holder_id() -> str:
    """A name for this process as a lease holder: host:pid:random."""
    return f"{_host()}:{os.getpid()}:{secrets.token_hex(4)}"



def holder_gone(holder: str | None) -> bool:
    """True when `holder` is a process on this host that has ended."""
    if not holder:
        return True
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    return parts[0] == _host() and not pid_alive(int(parts[1]))


@dataclass
class Lease:
    """A lease this process holds (until `expires_at`, naive UTC) with its fencing token."""

    config: Any
    name: str
    holder: str
    token: int
    expires_at: datetime

    def check(self, session: Session) -> None:
        """Fencing, inside the caller's transaction: LeaseLost unless this lease still carries our
        token (the no-op UPDATE also locks the row until the transaction ends)."""
        ok = session.execute(update(WorkerLease)
                             .where(WorkerLease.name == self.name, WorkerLease.holder == self.holder,
                                    WorkerLease.token == self.token)
                             .values(token=WorkerLease.token)).rowcount
        if not ok:
            raise LeaseLost(f"lease {self.name!r} (token {self.token}) was taken over by another worker; "
                            f"this one stops its job")

    def renew(self, seconds: float, now: datetime | None = None) -> None:
        """Extend the lease to now + seconds; LeaseLost when another holder has it."""
        until = (now or utcnow()) + timedelta(seconds=seconds)
        with session_scope(self.config) as session:
            ok = session.execute(update(WorkerLease)
                                 .where(WorkerLease.name == self.name, WorkerLease.holder == self.holder,
                                        WorkerLease.token == self.token)
                                 .values(expires_at=until)).rowcount
        if not ok:
            raise LeaseLost(f"lease {self.name!r} (token {self.token}) was taken over by another worker")
        self.expires_at = until

    def release(self) -> None:
        """Give the lease up now (a no-op when it was already taken over)."""
        with session_scope(self.config) as session:
            session.execute(update(WorkerLease)
                            .where(WorkerLease.name == self.name, WorkerLease.holder == self.holder,
                                   WorkerLease.token == self.token)
                            .values(holder=None, expires_at=utcnow()))


def acquire(config: Any, name: str, seconds: float, *, holder: str | None = None,
            now: datetime | None = None) -> Lease | None:
    """Take lease `name` for `seconds` if it is free; None when another live holder has it."""
    holder = holder or holder_id()
    now = now or utcnow()
    until = now + timedelta(seconds=seconds)
    with session_scope(config) as session:
        row = session.execute(select(WorkerLease.token, WorkerLease.holder, WorkerLease.expires_at)
                              .where(WorkerLease.name == name)).first()
        if row is None:
            created = _insert_new(session, name, holder, now, until)
            return Lease(config, name, holder, 1, until) if created else None
        token, current, expires = row
        if current is not None and expires > now and not holder_gone(current):
            return None
        won = session.execute(update(WorkerLease)
                              .where(WorkerLease.name == name, WorkerLease.token == token)
                              .values(holder=holder, token=token + 1, acquired_at=now, expires_at=until)).rowcount
    return Lease(config, name, holder, token + 1, until) if won else None


def _insert_new(session: Session, name: str, holder: str, now: datetime, until: datetime) -> bool:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(WorkerLease).values(name=name, holder=holder, token=1, acquired_at=now, expires_at=until)
            .on_conflict_do_nothing(index_elements=["name"]).returning(WorkerLease.name))
    return session.execute(stmt).scalar() is not None


def leases(config: Any) -> list[dict[str, Any]]:
    """Every lease row (for `tenure worker --status`)."""
    with session_scope(config) as session:
        rows = session.scalars(select(WorkerLease).order_by(WorkerLease.name)).all()
        now = utcnow()
        return [{"name": r.name, "holder": r.holder, "token": r.token,
                 "held": r.holder is not None and r.expires_at > now and not holder_gone(r.holder),
                 "expires_at": r.expires_at.isoformat(timespec="seconds") + "Z"} for r in rows]
