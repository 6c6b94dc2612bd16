"""Survey programs (tenure.yaml `surveys.programs`): their scales, their text per locale, and
how each is doing (invited, answered, response rate, and its current score with the 95%
interval of the one survey metric definition, tenure.metrics.surveys)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tenure.config import SURVEY_SCALES, Config, SurveyProgram, SurveyText
from tenure.errors import NotFoundError

# What the ends of each scale mean (a program's text may say otherwise).
SCALE_LABELS = {"nps": ("Not at all likely", "Extremely likely"), "csat": ("Very unsatisfied", "Very satisfied"),
                "ces": ("Very difficult", "Very easy")}
STATUS_WINDOW_DAYS = 365  # a program's score in `tenure voc programs`: answers of the last year


def scale(kind: str) -> list[int]:
    """The scores one click can give: 0..10 (NPS), 1..5 (CSAT), 1..7 (CES)."""
    low, high = SURVEY_SCALES[kind]
    return list(range(low, high + 1))


def get_program(config: Config, name: str) -> SurveyProgram:
    found = config.surveys.program(name)
    if found is None:
        known = ", ".join(p.name for p in config.surveys.programs) or "none configured"
        raise NotFoundError(f"survey program {name!r} is not in tenure.yaml surveys.programs (programs: {known})")
    return found


def text_for(program: SurveyProgram, locale: str | None) -> tuple[str, SurveyText]:
    """(locale used, text) for a contact's locale: an exact match (case-insensitive), else the same
    language (de-AT -> de or de-DE), else the program's default locale."""
    if locale:
        wanted = locale.strip().replace("_", "-").lower()
        by_lower = {k.lower(): k for k in program.text}
        if wanted in by_lower:
            k = by_lower[wanted]
            return k, program.text[k]
        lang = wanted.split("-")[0]
        for k in sorted(program.text):
            if k.lower().split("-")[0] == lang:
                return k, program.text[k]
    return program.default_locale, program.text[program.default_locale]


def labels(program: SurveyProgram, text: SurveyText) -> tuple[str, str]:
    low, high = SCALE_LABELS[program.kind]
    return text.low_label or low, text.high_label or high


def fill(template: str, **values: str) -> str:
    """`{account}` / `{project}` filled in; other braces are left as written."""
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", v)
    return out


@dataclass(frozen=True)
class ProgramCounts:
    invited: int
    answered: int
    reminded: int
    expired: int
    commented: int
    unsynced: int

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.invited if self.invited else None


def program_counts(session: Session, now: Any = None) -> dict[str, ProgramCounts]:
    """Per program, from the state DB (live, before any sync): invitations sent, answered,
    reminded, expired unanswered, answers with a comment, rows not yet in the warehouse."""
    from tenure.state.models import SurveyInvitation as I, SurveyResponse as R, utcnow

    now = now or utcnow()
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    inv = {p: (int(n or 0), int(a or 0), int(r or 0), int(e or 0), int(u or 0)) for p, n, a, r, e, u in session.execute(
        select(I.program, func.count(), one(I.answered_at.isnot(None)), one(I.reminded_at.isnot(None)),
               one(I.answered_at.is_(None) & (I.expires_at <= now)),
               one(I.synced_at.is_(None) | (I.synced_at < I.changed_at))).group_by(I.program))}
    resp = {p: (int(c or 0), int(u or 0)) for p, c, u in session.execute(
        select(R.program, one(R.comment.isnot(None)), one(R.synced_at.is_(None) | (R.synced_at < R.changed_at)))
        .group_by(R.program))}
    out = {}
    for p in set(inv) | set(resp):
        n, a, r, e, u = inv.get(p, (0, 0, 0, 0, 0))
        c, ru = resp.get(p, (0, 0))
        out[p] = ProgramCounts(invited=n, answered=a, reminded=r, expired=e, commented=c, unsynced=u + ru)
    return out


def program_status(config: Config, wh: Any | None = None, *, today: date | None = None) -> list[dict[str, Any]]:
    """One row per configured program: name, title, kind, status, trigger, channels, invited,
    answered, response_rate, reminded, expired, commented, unsynced (state DB, live) and, when a
    warehouse is given, `score`: the program's value over the last year with n and its 95%
    interval, from tenure.metrics.surveys on the warehouse's survey_responses (its survey_id is
    the program's name), or None before the first synced answer."""
    from tenure.state.db import session_scope
    from tenure.state.models import utcnow

    with session_scope(config) as session:
        counts = program_counts(session)
    today = today or utcnow().date()
    out = []
    for p in config.surveys.programs:
        c = counts.get(p.name, ProgramCounts(0, 0, 0, 0, 0, 0))
        row = {"name": p.name, "title": p.title or p.name, "kind": p.kind, "status": p.status,
               "trigger": p.trigger.type + (f" every {p.trigger.every_days} days" if p.trigger.type == "relationship"
                                            else ""),
               "channels": list(p.channels), "invited": c.invited, "answered": c.answered,
               "response_rate": c.response_rate, "reminded": c.reminded, "expired": c.expired,
               "commented": c.commented, "unsynced": c.unsynced, "score": None}
        if wh is not None:
            row["score"] = program_score(wh, config, p, today)
        out.append(row)
    return out


def program_score(wh: Any, config: Config, program: SurveyProgram, today: date) -> dict[str, Any] | None:
    """The program's score over the STATUS_WINDOW_DAYS ending today (value, n, ci_low, ci_high,
    ci_method, window, weighting), or None when no answer has reached the warehouse yet."""
    from tenure.metrics.periods import Period
    from tenure.metrics.surveys import survey_rows

    period = Period(f"{STATUS_WINDOW_DAYS} days to {today.isoformat()}", today - timedelta(days=STATUS_WINDOW_DAYS - 1),
                    today)
    settings = config.metrics.surveys.model_copy(update={"window_days": None})
    rows = survey_rows(wh, config, program.kind, period, settings=settings, survey_id=program.name)
    row = rows[0] if rows else None
    if not row or not row.get("n"):
        return None
    keep = ("value", "n", "ci_low", "ci_high", "ci_method", "window", "weighting")
    return {k: row.get(k) for k in keep}
