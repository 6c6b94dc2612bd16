"""The one access policy: who sees which accounts, and which company-wide figures and records.

Every REST route and every page asks this module, once, through `policy(who)` (an `Access`);
nothing else decides scope. The rules (written down in docs/web.md):

1. **A book of business.** A principal's book is the set of `accounts.owner` values it may see:
   everything for admin, executive and viewer; a CSM its own `csm_key`; a manager its own and
   those of the users whose manager it is (`tenure.state.users.SCOPE`). Account reads (lists,
   one account, its timeline, notes, scores, predictions, signals, renewals, the accounts behind
   a metric) are scoped *in the query*: read models take `Access.owners` (None = all). Opening one
   account outside the book is refused (`OutOfScope`, a 403 that says whose book it is in), not
   hidden, so a CSM knows to ask its manager.
2. **Company-wide figures** (`FIGURES`: registry metrics, the ARR bridge, cohorts, the trend,
   health validation, the risk backtest, the band -> renewal table) are aggregates that name no
   account: every signed-in principal that may read sees them, over the whole company. A CSM
   judges its book against the company's GRR and the targets in tenure.yaml, and validation and
   backtests only mean something over the whole population. One exception: a breakdown by a
   dimension that names a book or an account (`BOOK_DIMENSIONS`: owner, parent account) is a
   per-book figure, so a book-limited principal gets its breakdown grouped by owner too and
   only for the owners of its book (`Figure.keep`).
3. **Emails held for review** (a playbook's `send_email` with `review: true`) name the task owner
   of their account (`payload.owner`). Administrators review and release any of them; otherwise
   the owner's principal does, like its tasks: a CSM its own, a manager its team's
   (`Access.email`, `Access.email_owners`). The CCO and viewers, whose book is everything but who
   work no tasks, do not release emails sent in a CSM's name.
4. **Company-wide records** (`RECORDS`: the ingest log and uploads, the data-quality page, a
   refresh, the audit log) are rows of, or writes to, every account that are not aggregates:
   only principals whose book is everything may see or run them.

What a role may *do* (read, write, admin: `tenure.state.users.PERMISSIONS`, narrowed by a token's
scopes) is checked by the HTTP core before the policy is asked; this module is about *which*
accounts and figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tenure.errors import TenureError

# dimensions whose groups are books or accounts: a breakdown by one of them is a per-book figure
BOOK_DIMENSIONS = ("owner", "parent_account_id")

FIGURES: dict[str, str] = {
    "metrics": "any registry metric for a period (GET /metrics/{name}, the executive page's tiles)",
    "bridge": "the ARR bridge (GET /metrics/bridge, the executive page's bridge)",
    "cohorts": "cohort retention by first-ARR month (GET /metrics/cohorts)",
    "trend": "monthly ARR, GRR and NRR (the executive page's trend charts)",
    "health_validation": "how well the health score predicts churn (GET /health/validation)",
    "risk_backtest": "the churn model judged at a past cutoff (POST /risk/backtest)",
    "band_table": "renewal probability by health band (the renewals page)",
}

RECORDS: dict[str, str] = {
    "ingest_log": "ingest runs with their rejected rows (GET /ingest/runs)",
    "ingest_upload": "loading a file, whose rows may touch any account (POST /ingest/{entity})",
    "data_quality": "the quarantine and identity matches (the data page)",
    "refresh": "recomputing every account's scores (POST /refresh)",
    "audit": "the audit log (GET /audit)",
}


class OutOfScope(TenureError):
    """The principal's book of business does not cover what it asked for."""

    kind = "out-of-scope"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user, its role's permissions (narrowed by a token's scopes) and its book."""

    user_id: int
    username: str
    role: str
    full_name: str | None
    permissions: frozenset[str]
    owners: frozenset[str] | None  # accounts.owner values in this user's book of business; None = all
    via: str  # "session" or "token"
    csrf_token: str | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def book_of(session, user) -> frozenset[str] | None:
    """The owners in a user's book of business (None = every account), from its role's scope."""
    from sqlalchemy import select

    from tenure.state.models import User
    from tenure.state.users import SCOPE

    scope = SCOPE[user.role]
    if scope == "all":
        return None
    own = [user.csm_key] if user.csm_key else []
    if scope == "own":
        return frozenset(own)
    team = session.scalars(select(User.csm_key).where(User.manager_id == user.id, User.csm_key.is_not(None)))
    return frozenset([*team, *own])


def principal_for(session, user, via: str, scopes: Iterable[str] | None = None,
                  csrf_token: str | None = None) -> Principal:
    """The principal of an authenticated user: its role's permissions (narrowed by `scopes`, a
    token's) and its book of business."""
    from tenure.state.users import PERMISSIONS

    allowed = set(PERMISSIONS[user.role])
    if scopes is not None:
        allowed &= set(scopes)
    return Principal(user.id, user.username, user.role, user.full_name, frozenset(allowed), book_of(session, user),
                     via, csrf_token)


@dataclass(frozen=True)
class Figure:
    """How a company-wide figure is computed for a principal: grouped by `dims`; when `owners` is
    set (a per-book breakdown for a book-limited principal) only those owners' groups are kept."""

    name: str
    dims: tuple[str, ...]
    owners: frozenset[str] | None

    def keep(self, rows: Sequence[dict]) -> list[dict]:
        """The groups the principal may see. A group's figure depends only on its own accounts, so
        these are the rows of the one company-wide computation (cached once for everyone)."""
        if self.owners is None:
            return list(rows)
        return [r for r in rows if (r.get("group") or r).get("owner") in self.owners]


@dataclass(frozen=True)
class Access:
    """The policy applied to one principal."""

    who: Principal

    @property
    def everything(self) -> bool:
        """Does the book cover every account?"""
        return self.who.owners is None

    @property
    def owners(self) -> list[str] | None:
        """The owners every account read is scoped to (None = all accounts); read models take this."""
        return None if self.who.owners is None else sorted(self.who.owners)

    def _refuse(self, what: str) -> OutOfScope:
        return OutOfScope(f"{what} is not in {self.who.username}'s book of business")

    def account(self, account_id: str, owner: str | None) -> None:
        """May the principal open this account (owned by `owner`, as the read model says)?
        OutOfScope for one outside the book."""
        if not (self.everything or (owner is not None and owner in self.who.owners)):
            raise self._refuse(f"account {account_id}")

    @property
    def task_owners(self) -> list[str] | None:
        """The task owners whose tasks (CTAs) the principal sees and works (None = every task): a
        CSM its own book's, a manager its team's and its own (tenure.playbooks.tasks)."""
        if self.who.owners is None:
            return None
        return sorted({*self.who.owners, self.who.username})

    def task(self, task_id: int, owner: str | None) -> None:
        """May the principal work this task (owned by `owner`)? OutOfScope outside its book."""
        if self.task_owners is not None and owner not in self.task_owners:
            raise self._refuse(f"task {task_id}" + (f" (owner {owner})" if owner else " (in a queue)"))

    @property
    def email_owners(self) -> list[str] | None:
        """The owners whose held emails the principal reviews and releases: None = every held
        email (administrators), else its task owners (a CSM its own, a manager its team's); none
        for other principals whose book is everything (the CCO, viewers)."""
        if self.who.can("admin"):
            return None
        return [] if self.task_owners is None else self.task_owners

    def email(self, message_id: int, owner: str | None) -> None:
        """May the principal review and release this held email (reviewed by `owner`)?"""
        scope = self.email_owners
        if scope is not None and owner not in scope:
            raise OutOfScope(f"held email {message_id}" + (f" (owner {owner})" if owner else " (no owner)")
                             + f" is not {self.who.username}'s to review: its CSM, the CSM's manager or an "
                             "administrator releases it")

    def figure(self, name: str, dims: Sequence[str] = ()) -> Figure:
        """A company-wide figure (one of FIGURES), grouped by `dims`: visible to every reader; a
        breakdown by a book dimension is limited to the principal's book."""
        if name not in FIGURES:
            raise KeyError(f"{name!r} is not a company-wide figure in tenure.access.FIGURES")
        dims = tuple(dims)
        if self.everything or not any(d in BOOK_DIMENSIONS for d in dims):
            return Figure(name, dims, None)
        return Figure(name, dims if "owner" in dims else (*dims, "owner"), self.who.owners)

    def accounts_behind(self, filters: dict[str, str]) -> list[dict[str, str]]:
        """The filters to list the accounts behind a figure with (an account read): as asked for
        a principal that sees everything; otherwise once per owner of its book (refused for an
        owner outside it, or when the book is empty)."""
        if self.everything:
            return [filters]
        if "owner" in filters:
            if filters["owner"] not in self.who.owners:
                raise self._refuse(f"owner {filters['owner']!r}")
            return [filters]
        if not self.who.owners:
            raise OutOfScope(f"{self.who.username}'s book of business is empty")
        return [{**filters, "owner": o} for o in sorted(self.who.owners)]

    def sees_records(self, name: str) -> bool:
        """May the principal see company-wide records (one of RECORDS)? (Pages hide links with it.)"""
        if name not in RECORDS:
            raise KeyError(f"{name!r} is not a company-wide record set in tenure.access.RECORDS")
        return self.everything

    def records(self, name: str) -> None:
        """Company-wide records (one of RECORDS): refused unless the principal's book is everything."""
        if not self.sees_records(name):
            raise OutOfScope(f"{RECORDS[name].split(' (')[0]}: these cover every account, and "
                             f"{self.who.username}'s book of business is limited (ask an administrator)")


def policy(who: Principal) -> Access:
    """The access policy for a principal."""
    return Access(who)


def describe() -> dict[str, Any]:
    """The policy as data (for docs and tests)."""
    return {"book_dimensions": BOOK_DIMENSIONS, "figures": dict(FIGURES), "records": dict(RECORDS)}
