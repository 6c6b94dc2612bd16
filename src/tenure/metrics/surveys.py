"""Survey scores as metrics: NPS, CSAT and CES from `survey_responses`, with the aggregation
window and the respondent weighting explicit, a 95% confidence interval on every value, and the
significance of a change between two periods (docs/metrics.md "Survey scores").

Counting happens in the engine (Ibis): per group, integer counts of responses, promoters or
satisfied answers, detractors, and the sum and sum of squares of the scores. Only under the
account and ARR weightings does one small row per account come back (the bootstrap resamples
accounts), and the arithmetic on it is vectorised numpy."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from tenure.config import NPS_DETRACTOR_MAX, NPS_PROMOTER_MIN, Config, SurveyMetricSettings
from tenure.errors import InputError
from tenure.metrics.arr import LINE_DIMENSIONS, arr_at, periods_table
from tenure.metrics.bridge import attach_dimensions, check_dimensions
from tenure.metrics.periods import Period
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir

PLACES = Decimal("0.000001")
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
BOOT_CELLS = 2_000_000  # resamples x accounts drawn at once (bounds the bootstrap's memory)


@dataclass(frozen=True)
class Window:
    first_day: date
    last_day: date
    label: str


def window(period: Period, settings: SurveyMetricSettings) -> Window:
    """The days whose responses count: the period itself, or the `window_days` ending on its last day."""
    if settings.window_days is None:
        return Window(period.first_day, period.last_day, period.label)
    first = period.last_day - timedelta(days=settings.window_days - 1)
    return Window(first, period.last_day, f"{settings.window_days} days to {period.last_day.isoformat()}")


def _q(x: float | Decimal | None) -> Decimal | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return Decimal(str(x) if isinstance(x, float) else x).quantize(PLACES)


def _responses(wh: Warehouse, kind: str, w: Window, settings: SurveyMetricSettings,
               survey_id: str | None = None) -> ir.Table:
    """The window's responses of one kind (of one survey when `survey_id` is given) with indicator
    columns good, bad, score, s2; under any weighting but `response`, only each contact's latest
    answer (an answer without a contact is its own respondent)."""
    r = wh.table("survey_responses")
    r = r.filter((r.kind == kind) & (r.responded_at >= w.first_day)
                 & (r.responded_at < w.last_day + timedelta(days=1)))
    if survey_id is not None:
        r = r.filter(r.survey_id == survey_id)
    if settings.weighting != "response":
        r = r.mutate(respondent=r.contact_id.fill_null("response:" + r.response_id))
        rank = ibis.row_number().over(group_by=[r.account_id, r.respondent],
                                      order_by=[ibis.desc(r.responded_at), ibis.desc(r.response_id)])
        r = r.mutate(_rank=rank)
        r = r.filter(r._rank == 0).drop("_rank")
    score = r.score.cast("int64")
    one, zero = ibis.literal(1, "int64"), ibis.literal(0, "int64")
    if kind == "nps":  # Reichheld (2003), Bain & Company: promoters 9-10, passives 7-8, detractors 0-6
        good, bad = ibis.ifelse(score >= NPS_PROMOTER_MIN, one, zero), ibis.ifelse(score <= NPS_DETRACTOR_MAX, one, zero)
    elif kind == "csat":  # satisfied = the top two boxes (4-5) by default
        good, bad = ibis.ifelse(score >= settings.csat_satisfied_min, one, zero), zero
    else:
        good, bad = zero, zero
    return r.select("account_id", good=good, bad=bad, score=score, s2=score * score)


def _counts(t: ir.Table, keys: Sequence[str]) -> dict[str, Any]:
    aggs = dict(k=t.account_id.count().cast("int64"), good=t.good.sum().cast("int64"),
                bad=t.bad.sum().cast("int64"), s1=t.score.sum().cast("int64"), s2=t.s2.sum().cast("int64"))
    return t.group_by(list(keys)).aggregate(**aggs) if keys else t.aggregate(**aggs)


# --- the statistic and its interval -------------------------------------------------------------

def nps_interval(promoters: int, detractors: int, n: int) -> tuple[float, float, float, float]:
    """(nps, se, low, high) in points (-100..100) from counts: Var(p+ - p-) =
    (p+(1-p+) + p-(1-p-) + 2 p+ p-) / n, a normal (Wald) interval clipped to the scale."""
    pp, pm = promoters / n, detractors / n
    nps = pp - pm
    se = math.sqrt(max(pp * (1 - pp) + pm * (1 - pm) + 2 * pp * pm, 0.0) / n)
    return 100 * nps, 100 * se, max(-100.0, 100 * (nps - Z95 * se)), min(100.0, 100 * (nps + Z95 * se))


def wilson_interval(k: int, n: int) -> tuple[float, float, float, float]:
    """(share, se, low, high): the Wilson score interval (Wilson 1927) for k successes out of n."""
    p = k / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return p, math.sqrt(p * (1 - p) / n), max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(s1: int, s2: int, n: int) -> tuple[float, float | None, float | None, float | None]:
    """(mean, se, low, high): the mean with a Student-t interval (none for a single answer)."""
    from scipy.stats import t as student

    mean = s1 / n
    if n < 2:
        return mean, None, None, None
    var = max((s2 - s1 * s1 / n) / (n - 1), 0.0)
    se = math.sqrt(var / n)
    q = float(student.ppf(0.975, n - 1))
    return mean, se, mean - q * se, mean + q * se


def _weighted_stat(kind: str, w: np.ndarray, k: np.ndarray, good: np.ndarray, bad: np.ndarray,
                   s1: np.ndarray) -> np.ndarray:
    """The weighted statistic along the last axis (accounts): each account's share (or mean)
    over its respondents, weighted by w."""
    if kind == "nps":
        x = 100 * (good - bad) / k
    elif kind == "csat":
        x = good / k
    else:
        x = s1 / k
    return (w * x).sum(axis=-1) / w.sum(axis=-1)


def bootstrap_interval(kind: str, w, k, good, bad, s1, *, resamples: int, seed: int
                       ) -> tuple[float, float | None, float | None, float | None]:
    """(value, se, low, high): accounts resampled with replacement `resamples` times (seeded,
    vectorised in blocks of at most BOOT_CELLS draws), percentile interval."""
    w, k, good, bad, s1 = (np.asarray(a, dtype=np.float64) for a in (w, k, good, bad, s1))
    value = float(_weighted_stat(kind, w, k, good, bad, s1))
    n = w.size
    if n < 2:
        return value, None, None, None
    rng = np.random.default_rng(seed)
    block = max(1, BOOT_CELLS // n)
    stats = []
    for start in range(0, resamples, block):  # a handful of blocks, not a loop over rows
        idx = rng.integers(0, n, size=(min(block, resamples - start), n))
        ww = w[idx]
        ok = ww.sum(axis=1) > 0
        stats.append(_weighted_stat(kind, ww[ok], k[idx][ok], good[idx][ok], bad[idx][ok], s1[idx][ok]))
    b = np.concatenate(stats)
    low, high = np.quantile(b, [0.025, 0.975])
    return value, float(b.std(ddof=1)), float(low), float(high)


def _formula(kind: str, n: int, good: int, bad: int, s1: int, s2: int):
    if kind == "nps":
        return nps_interval(good, bad, n), "normal, Var = (p+(1-p+) + p-(1-p-) + 2 p+ p-) / n"
    if kind == "csat":
        return wilson_interval(good, n), "Wilson score"
    return mean_interval(s1, s2, n), "Student t"


def _seed(base: int, group: dict[str, Any]) -> int:
    return (base * 1_000_003 + zlib.crc32(repr(sorted(group.items())).encode())) % 2**32


# --- rows ---------------------------------------------------------------------------------------

def survey_rows(wh: Warehouse, config: Config, kind: str, period: Period, by: Sequence[str] = (),
                settings: SurveyMetricSettings | None = None, survey_id: str | None = None) -> list[dict[str, Any]]:
    """One row per group: value, n (respondents counted; accounts under account/arr weighting),
    responses, numerator, denominator, se, ci_low, ci_high, ci_method, window, weighting.
    `survey_id`: only that survey's responses (a survey program's live score, tenure.voc.programs)."""
    s = settings or config.metrics.surveys
    by = list(by)
    lines = [d for d in by if d in LINE_DIMENSIONS]
    if lines:
        raise InputError(f"survey scores group by account attributes, not by {', '.join(lines)} "
                         "(a response belongs to an account, not to a product)")
    check_dimensions(wh, by)
    w = window(period, s)
    r = attach_dimensions(wh, _responses(wh, kind, w, s, survey_id), by)
    base = {"window": w.label, "window_first_day": w.first_day, "window_last_day": w.last_day,
            "weighting": s.weighting}
    if s.weighting in ("response", "contact"):
        rows = wh.execute(_counts(r, by)).to_dict(orient="records")
        out = []
        for row in rows:
            n = int(row["k"] or 0)
            group = {d: row[d] for d in by}
            if n == 0:
                out.append({**base, "group": group, "n": 0, "responses": 0, "value": None, "numerator": None,
                            "denominator": 0, "se": None, "ci_low": None, "ci_high": None, "ci_method": None})
                continue
            good, bad, s1, s2 = (int(row[c]) for c in ("good", "bad", "s1", "s2"))
            (value, se, low, high), method = _formula(kind, n, good, bad, s1, s2)
            num = {"nps": good - bad, "csat": good, "ces": s1}[kind]
            exact = (Decimal(100 * num) / n) if kind == "nps" else Decimal(num) / n
            out.append({**base, "group": group, "n": n, "responses": n, "value": exact.quantize(PLACES),
                        "numerator": num, "denominator": n, "se": _q(se), "ci_low": _q(low), "ci_high": _q(high),
                        "ci_method": method, "promoters" if kind == "nps" else "satisfied": good,
                        **({"detractors": bad} if kind == "nps" else {})})
        return sorted(out, key=lambda x: tuple(str(x["group"][d]) for d in by))
    return _weighted_rows(wh, config, kind, w, r, by, s, base)


def _weighted_rows(wh, config, kind, w: Window, r, by, s: SurveyMetricSettings, base) -> list[dict[str, Any]]:
    """account / arr weighting: one row per (group, account) from the engine, then numpy."""
    per_account = _counts(r, ["account_id", *by])
    if s.weighting == "arr":
        ptab = periods_table([_day_period(w)])
        arr = arr_at(wh, config, ptab, "last_day").select("account_id", "arr")
        per_account = per_account.left_join(arr, "account_id").drop("account_id_right")
        per_account = per_account.mutate(weight=per_account.arr.fill_null(0).cast("decimal(18, 2)"))
    else:
        per_account = per_account.mutate(weight=ibis.literal(1, "decimal(18, 2)"))
    df = wh.execute(per_account.order_by([*by, "account_id"]))
    out = []
    if df.empty:
        return out
    parts = df.groupby(by, sort=True, dropna=False) if by else [((), df)]
    for _, part in parts:  # one pass per group (a handful), vectorised inside
        group = {d: part[d].iloc[0] for d in by}
        weight = part["weight"].astype(float).to_numpy()
        keep = weight > 0
        responses = int(part["k"].sum())
        n = int(keep.sum())
        if n == 0:
            out.append({**base, "group": group, "n": 0, "responses": responses, "value": None, "numerator": None,
                        "denominator": Decimal(0), "se": None, "ci_low": None, "ci_high": None,
                        "ci_method": None})
            continue
        cols = [part[c].astype(float).to_numpy()[keep] for c in ("k", "good", "bad", "s1")]
        value, se, low, high = bootstrap_interval(kind, weight[keep], *cols, resamples=s.bootstrap_resamples,
                                                  seed=_seed(s.bootstrap_seed, group))
        den = Decimal(f"{float(weight[keep].sum()):.2f}")  # ARR in cents: exact in float64 below 2**53 cents
        out.append({**base, "group": group, "n": n, "responses": responses, "value": _q(value),
                    "numerator": _q(value * float(den) / (100 if kind == "nps" else 1)), "denominator": den,
                    "se": _q(se), "ci_low": _q(low), "ci_high": _q(high),
                    "ci_method": f"bootstrap over accounts ({s.bootstrap_resamples} resamples, percentile)"})
    return out


def _day_period(w: Window) -> Period:
    return Period(w.label, w.first_day, w.last_day)


# --- response rate ------------------------------------------------------------------------------

def response_rate_rows(wh: Warehouse, config: Config, period: Period, by: Sequence[str] = (),
                       settings: SurveyMetricSettings | None = None,
                       survey_id: str | None = None) -> list[dict[str, Any]]:
    """Invitations sent in the window that got an answer / invitations sent in the window, with a
    Wilson interval. An invitation is answered by a response of the same account, contact (both
    empty counts as the same), kind and survey_id given at or after it was sent, whenever that
    was, so a recent window's rate rises as answers arrive."""
    s = settings or config.metrics.surveys
    by = list(by)
    lines = [d for d in by if d in LINE_DIMENSIONS]
    if lines:
        raise InputError(f"survey scores group by account attributes, not by {', '.join(lines)}")
    check_dimensions(wh, by)
    w = window(period, s)
    inv = wh.table("survey_invitations")
    inv = inv.filter((inv.sent_at >= w.first_day) & (inv.sent_at < w.last_day + timedelta(days=1)))
    if survey_id is not None:
        inv = inv.filter(inv.survey_id == survey_id)
    inv = inv.select("invitation_id", "account_id", "kind", "sent_at", i_contact=inv.contact_id.fill_null(""),
                     i_survey=inv.survey_id.fill_null(""))
    r = wh.table("survey_responses")
    r = r.select(r_account=r.account_id, r_kind=r.kind, r_at=r.responded_at, r_contact=r.contact_id.fill_null(""),
                 r_survey=r.survey_id.fill_null(""))
    j = inv.left_join(r, (inv.account_id == r.r_account) & (inv.kind == r.r_kind) & (inv.i_contact == r.r_contact)
                      & (inv.i_survey == r.r_survey) & (r.r_at >= inv.sent_at))
    one, zero = ibis.literal(1, "int64"), ibis.literal(0, "int64")
    per = j.group_by(["invitation_id", "account_id"]).aggregate(
        answered=ibis.ifelse(j.r_account.notnull(), one, zero).max())
    per = attach_dimensions(wh, per, by)
    aggs = dict(k=per.invitation_id.count().cast("int64"), good=per.answered.sum().cast("int64"))
    agg = per.group_by(by).aggregate(**aggs) if by else per.aggregate(**aggs)
    base = {"window": w.label, "window_first_day": w.first_day, "window_last_day": w.last_day,
            "weighting": "invitation"}
    out = []
    for row in wh.execute(agg).to_dict(orient="records"):
        n, good = int(row["k"] or 0), int(row["good"] or 0)
        group = {d: row[d] for d in by}
        if n == 0:
            continue
        value, se, low, high = wilson_interval(good, n)
        out.append({**base, "group": group, "n": n, "responses": good, "value": (Decimal(good) / n).quantize(PLACES),
                    "numerator": good, "denominator": n, "se": _q(se), "ci_low": _q(low), "ci_high": _q(high),
                    "ci_method": "Wilson score"})
    return sorted(out, key=lambda x: tuple(str(x["group"][d]) for d in by))


# --- change between two periods -----------------------------------------------------------------

def change(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """The difference between two rows of the same metric and group, with a two-sided z-test:
    z = (v1 - v0) / sqrt(se1^2 + se0^2) (independent samples; for NPS the z-test on the NPS
    difference, for CSAT on two proportions with unpooled variance)."""
    v1, v0 = current.get("value"), previous.get("value")
    out = {"previous": v0, "previous_n": previous.get("n", 0), "change": None, "z": None, "p_value": None,
           "significant": None}
    if v1 is None or v0 is None:
        return out
    out["change"] = (Decimal(v1) - Decimal(v0)).quantize(PLACES)
    se1, se0 = current.get("se"), previous.get("se")
    if se1 is None or se0 is None:
        return out
    se = math.sqrt(float(se1) ** 2 + float(se0) ** 2)
    if se == 0:
        return out
    z = float(out["change"]) / se
    p = math.erfc(abs(z) / math.sqrt(2))
    out.update(z=_q(z), p_value=_q(p), significant=p < 0.05)
    return out
