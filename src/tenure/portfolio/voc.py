"""The voice of the customer, read for the VoC page, its API (tenure.api.routers.voc) and the
account page: one function per question they ask. Every number comes from the stage that owns
it; this module only picks and arranges.

- scores: NPS, CSAT and CES (and the survey response rate) for a period, optionally one segment,
  each with n, its 95% interval, the aggregation window and the respondent weighting, and the
  change against the period before with its significance. These are exactly the rows of
  `tenure.metrics.compute.compare` (what `tenure metrics compute nps --period P --vs Q [--by
  segment]` prints): one definition, shown three ways (tests/web/test_voc_page.py checks
  page == API == CLI).
- trend: the same per month over the last 12 months, each month against the month before.
- themes, feature requests and churn reasons ranked by the ARR behind them (tenure.voc.ranking),
  with example quotes; quotes name accounts, so they are an account read kept to the caller's book.
- loop closure: rate and median time to close, overall and by team (tenure.voc.loop).
- one account's responses with their loop status (the account page's panel).
- survey programs with their live counts and current score (tenure.voc.programs; admins).

A part that another stage has not produced yet is reported as `Missing(what, how)`: the page
says plainly what is missing and which command makes it, never a number it does not have."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tenure.config import Config
from tenure.errors import InputError
from tenure.formats import json_default
from tenure.metrics.periods import Period, add_months, month_end, monthly, parse_period, previous_period, to_date
from tenure.warehouse import Warehouse

__all__ = ["KINDS", "SCORE_METRICS", "Missing", "account_responses", "churn_reasons", "feature_requests",
           "latest_month", "loop_closure", "previous_period", "programs", "ranked", "refresh_rankings", "score", "scores",
           "segments", "stored_rankings", "themes", "trend"]

KINDS = ("nps", "csat", "ces")
SCORE_METRICS = (*KINDS, "survey_response_rate")
TREND_MONTHS = 12
QUOTES = 3  # example quotes per ranked row


@dataclass(frozen=True)
class Missing:
    """A part of the page another stage has not produced: what is missing and the command that makes it."""

    what: str
    how: str

    def as_dict(self) -> dict[str, str]:
        return {"missing": self.what, "how": self.how}


def _part(module: str):
    """A VoC module built in parallel with this page (tenure.voc.*), or None while it is not there."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name and module.startswith(err.name):
            return None
        raise


# -- periods --------------------------------------------------------------------------------------

def latest_month(wh: Warehouse) -> date | None:
    """The first day of the month of the latest data (None for an empty warehouse)."""
    from tenure.warehouse.asof import latest_event_day

    last = latest_event_day(wh)
    return None if last is None else date(to_date(last).year, to_date(last).month, 1)


def default_period(last: date) -> Period:
    """The trailing 12 months ending with the month `last`."""
    return parse_period(f"{add_months(last, -11):%Y-%m}..{last:%Y-%m}")


# -- scores ---------------------------------------------------------------------------------------

def segments(wh: Warehouse) -> list[str]:
    """The segments a reader may pick (the accounts' distinct segments)."""
    a = wh.table("accounts")
    values = wh.execute(a.select("segment").distinct().order_by("segment"))["segment"].tolist()
    return [str(v) for v in values if v is not None and v == v]


def _empty_row(metric: str, p: Period, settings) -> dict[str, Any]:
    from tenure.metrics.surveys import window

    w = window(p, settings)
    return {"metric": metric, "period": p.label, "measured_over": w.label, "group": {}, "window": w.label,
            "window_first_day": w.first_day, "window_last_day": w.last_day,
            "weighting": "invitation" if metric == "survey_response_rate" else settings.weighting, "n": 0,
            "responses": 0, "value": None, "se": None, "ci_low": None, "ci_high": None, "ci_method": None}


def score(wh: Warehouse, config: Config, metric: str, period: Period, segment: str | None = None,
          previous: Period | None = None) -> dict[str, Any]:
    """One survey metric for `period` (one segment, or every account), compared with `previous`
    (default: the period before): the row `tenure metrics compute METRIC --period P --vs Q
    [--by segment]` prints for that group, with keys value, n, responses, se, ci_low, ci_high,
    ci_method, window, weighting, previous, previous_n, change, z, p_value, significant.
    A group with no answers is a row with n = 0 and no value."""
    from tenure.metrics.compute import compare
    from tenure.metrics.surveys import change

    before = previous or previous_period(period)
    by = ["segment"] if segment else []
    rows = compare(wh, config, metric, period, before, by)
    row = next((r for r in rows if not segment or r["group"].get("segment") == segment), None)
    if row is None or (segment and not row["group"]):
        row = {**_empty_row(metric, period, config.metrics.surveys), "group": {"segment": segment} if segment else {}}
        old = next((r for r in _rows(wh, config, metric, before, by) if r["group"].get("segment") == segment), {})
        row.update(change(row, old))
    return {**row, "metric": metric, "period": period.label, "previous_period": before.label}


def _rows(wh, config, metric, p: Period, by) -> list[dict]:
    from tenure.metrics.compute import compute

    return compute(wh, config, metric, p, by)


def scores(wh: Warehouse, config: Config, period: Period, segment: str | None = None,
           metrics: Sequence[str] = SCORE_METRICS) -> list[dict[str, Any]]:
    """`score` for each survey metric (NPS, CSAT, CES, the response rate)."""
    return [score(wh, config, m, period, segment) for m in metrics]


def trend(wh: Warehouse, config: Config, metric: str, last: date, months: int = TREND_MONTHS,
          segment: str | None = None) -> list[dict[str, Any]]:
    """The metric per month for the `months` months ending with the month of `last`, each the row
    of `tenure metrics compute METRIC --period YYYY-MM --vs <month before> [--by segment]` (value,
    n, 95% interval, window, weighting, change against the month before and its p-value)."""
    from tenure.metrics.surveys import change

    first = add_months(date(last.year, last.month, 1), -months)  # one more: the first month's previous
    by = ["segment"] if segment else []
    periods = monthly(first, month_end(date(last.year, last.month, 1)))
    reach = timedelta(days=config.metrics.surveys.window_days or 0)
    answered = metric == "survey_response_rate" or _answered(wh, metric, periods[0].first_day - reach,
                                                             periods[-1].last_day)
    rows = []
    for p in periods:
        found = [r for r in _rows(wh, config, metric, p, by)
                 if not segment or r["group"].get("segment") == segment] if answered else []
        row = found[0] if found else {**_empty_row(metric, p, config.metrics.surveys),
                                      "group": {"segment": segment} if segment else {}}
        rows.append({**row, "metric": metric, "period": p.label, "month": p.first_day})
    out = []
    for before, row in zip(rows, rows[1:]):
        out.append({**row, **change(row, before), "previous_period": before["period"]})
    return out


def _answered(wh: Warehouse, kind: str, first: date, last: date) -> bool:
    """Has any answer of `kind` come in between first and last (one count, so the trend of a
    survey nobody runs costs one query instead of one per month)? Under a rolling window
    (metrics.surveys.window_days) earlier answers count too, so the caller asks from the
    window's first day."""
    r = wh.table("survey_responses")
    n = wh.execute(r.filter((r.kind == kind) & (r.responded_at >= first)
                            & (r.responded_at < last + timedelta(days=1))).count())
    return bool(n)


# -- what customers say, ranked by ARR -------------------------------------------------------------

RANKING_KINDS = {"themes": "themes", "feature_requests": "requests", "churn_reasons": "churn"}  # page -> voc.ranking
RANKING_FILE = "voc/rankings.json"
RANKING_JOB = "voc-rankings"
RANKING_HOW = (f"the worker's `{RANKING_JOB}` job ranks them after each refresh (`tenure worker --once`); "
               "`tenure voc rank` shows one ranking in the terminal")
RANKING_LIMIT = 50


def rankings_path(config: Config) -> Path:
    return config.resolve_path(RANKING_FILE)


def refresh_rankings(config: Config, wh: Warehouse, session, *, kinds: Sequence[str] = tuple(RANKING_KINDS),
                     corpus_limit: int | None = None, data_version: int | None = None,
                     now: datetime | None = None) -> dict[str, Any]:
    """Rank themes, feature requests and churn reasons by ARR (tenure.voc.ranking, every account,
    RANKING_LIMIT rows each with QUOTES quotes) and store them in the project folder
    (RANKING_FILE, written whole then renamed), so the page and the API read them instead of
    embedding and clustering every text on each request (minutes on a large corpus). Returns
    {kind: rows}. `corpus_limit`: at most that many texts (default: the ranking's own)."""
    from tenure.voc import ranking

    kw = {} if corpus_limit is None else {"corpus_limit": corpus_limit}
    out: dict[str, Any] = {}
    for kind in kinds:
        out[kind] = ranking.ranked(wh, session, config, RANKING_KINDS[kind], limit=RANKING_LIMIT, quotes=QUOTES, **kw)
    from tenure.warehouse.asof import latest_event_day

    doc = {"computed_at": (now or datetime.now(timezone.utc).replace(tzinfo=None)).isoformat(timespec="seconds"),
           "as_of": latest_event_day(wh), "data_version": data_version, "currency": config.reporting_currency,
           "rankings": out}
    path = rankings_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, default=json_default, indent=1))
    os.replace(tmp, path)
    return out


def stored_rankings(config: Config) -> dict[str, Any] | None:
    """What refresh_rankings stored last ({computed_at, as_of, data_version, rankings}), or None."""
    path = rankings_path(config)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: the stored VoC rankings cannot be read ({err}); delete the file and let the "
                         f"worker's {RANKING_JOB} job write it again") from None


def _owners_of(wh: Warehouse, account_ids: set[str]) -> dict[str, str | None]:
    if not account_ids:
        return {}
    a = wh.table("accounts")
    df = wh.execute(a.filter(a.account_id.isin(sorted(account_ids))).select("account_id", "owner"))
    return dict(zip(df["account_id"], df["owner"]))


def ranked(wh: Warehouse, config: Config, kind: str, *, owners: Sequence[str] | None = None,
           limit: int = 20) -> dict[str, Any] | Missing:
    """One stored ranking ("themes", "feature_requests", "churn_reasons"), biggest ARR first:
    {computed_at, as_of, rows: [{key, label, detail, n, accounts, arr, arr_at_risk, churned_arr,
    quotes: [{text, account_id, account_name, at}]}]}. ARR totals are company-wide aggregates;
    quotes name accounts, so only those of accounts in the book (None = all) are kept."""
    if kind not in RANKING_KINDS:
        raise InputError(f"ranking {kind!r}: choose one of {', '.join(RANKING_KINDS)}")
    doc = stored_rankings(config)
    if doc is None or kind not in doc.get("rankings", {}):
        what = {"themes": "no themes", "feature_requests": "no feature requests",
                "churn_reasons": "no churn reasons"}[kind]
        return Missing(f"{what} ranked yet", RANKING_HOW)
    rows = [dict(r) for r in doc["rankings"][kind][:limit]]
    if owners is not None:
        ids = {q.get("account_id") for r in rows for q in r.get("quotes", []) if q.get("account_id")}
        owner = _owners_of(wh, ids)
        keep = set(owners)
        rows = [{**r, "quotes": [q for q in r.get("quotes", []) if owner.get(q.get("account_id")) in keep]}
                for r in rows]
    return {"computed_at": doc.get("computed_at"), "as_of": doc.get("as_of"), "rows": rows}


def themes(wh, config, **kw) -> dict[str, Any] | Missing:
    return ranked(wh, config, "themes", **kw)


def feature_requests(wh, config, **kw) -> dict[str, Any] | Missing:
    return ranked(wh, config, "feature_requests", **kw)


def churn_reasons(wh, config, **kw) -> dict[str, Any] | Missing:
    return ranked(wh, config, "churn_reasons", **kw)


# -- closing the loop ----------------------------------------------------------------------------

LOOP_HOW = "the detractor-follow-up and low-csat-follow-up playbooks turn low scores into tasks " \
           "(`tenure playbooks run`)"


def loop_closure(session, wh: Warehouse, config: Config, period: Period, *, owners: Sequence[str] | None = None
                 ) -> dict[str, Any] | Missing:
    """Loop closure over the responses answered in `period` (tenure.voc.loop.summary): overall and
    by team for everyone (aggregates naming no account), by CSM only for the CSMs of the book."""
    loop = _part("tenure.voc.loop")
    if loop is None:
        return Missing("no loop closure yet", LOOP_HOW)
    out = loop.summary(session, wh, config, period=period)
    if owners is not None:
        out = {**out, "by_csm": [r for r in out["by_csm"] if r.get("csm") in set(owners)]}
    return out


def account_responses(session, wh: Warehouse, account_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """Each survey response of one account in the warehouse (newest first): response_id, kind,
    score, comment, responded_at, touchpoint, survey_id, and its loop (tenure.voc.loop.status):
    status (closed, open, overdue, none; "not needed" for a response no playbook follows up),
    task_id, owner, closed_at, hours_to_close."""
    r = wh.table("survey_responses")
    df = wh.execute(r.filter(r.account_id == account_id)
                    .select("response_id", "contact_id", "kind", "score", "comment", "responded_at", "touchpoint",
                            "survey_id")
                    .order_by([r.responded_at.desc(), r.response_id]).limit(limit))
    rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    for x in rows:  # a stored time Python's calendar cannot hold (year 10000) reads as unknown
        x["responded_at"] = _calendar_time(x["responded_at"])
    loop = _part("tenure.voc.loop")
    status: dict[str, dict] = {}
    if loop is not None and rows:
        st = loop.status(session, wh, account_id=account_id, response_ids=[x["response_id"] for x in rows])
        st = st.astype(object).where(st.notna(), None)
        status = {s["response_id"]: s for s in st.to_dict(orient="records")}
    for x in rows:
        s = status.get(x["response_id"])
        x["loop"] = ("not tracked" if loop is None else "not needed") if s is None else s["status"]
        for k in ("task_id", "owner", "closed_at", "hours_to_close", "task_state", "sla_due_at"):
            x[k] = None if s is None else s.get(k)
    return rows


def _calendar_time(v: Any) -> datetime | None:
    """A stored timestamp as Python's datetime; None where the calendar cannot hold it (a row
    that predates the ingest boundary), so one such row cannot take down the account page."""
    if v is None or isinstance(v, str):
        return None
    try:
        return v.to_pydatetime() if hasattr(v, "to_pydatetime") else v
    except (ValueError, OverflowError):
        return None


# -- survey programs (administrators) --------------------------------------------------------------

def programs(config: Config, wh: Warehouse | None = None, *, today: date | None = None) -> list[dict] | Missing:
    """Every configured survey program with its live counts (invited, answered, response rate,
    reminded, expired) and its current score with n and 95% interval (tenure.voc.programs)."""
    mod = _part("tenure.voc.programs")
    if mod is None:
        return Missing("no survey programs module", "surveys.programs in tenure.yaml")
    return mod.program_status(config, wh, today=today)
