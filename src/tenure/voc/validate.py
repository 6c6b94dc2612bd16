"""Does NPS predict? Churn and NRR over the next 180 and 365 days for promoters, passives and
detractors, measured on the past only.

For each horizon h, a cut-off day c with the whole outcome window observed (c + h <= the data's
day, `as_of`; the default cut-off is as_of - h, the latest such day): every account with ARR on
c is put in a group by its NPS answers known on c, and its outcome is read over c+1 .. c+h:

- group (account-level rule): the account's latest NPS answer on or before c and at most
  `lookback_days` (365) before it; several answers on that latest day count as the lowest of them
  (one unhappy contact is enough to worry). 9-10 promoter, 7-8 passive, 0-6 detractor; an account
  with no answer in the lookback is `unrated` (reported, not compared).
- churn: the account's bridge movement over the window is `churn` (ARR on c, none on c + h:
  tenure.metrics.bridge.movements, the same rule as the metric `logo_churn_rate`); the rate per
  group is the metric's ratio over the group's accounts, with a Wilson 95% interval.
- NRR: the metric `nrr` (tenure.metrics.registry) over the group's accounts' movements, with a
  bootstrap 95% interval (accounts resampled within the group).
- differences detractor - promoter and passive - promoter, for both, with bootstrap 95% intervals
  (each group resampled independently); significant when the interval excludes 0.

Nothing after c is used to group an account (no peeking) and nothing before it to score the
outcome: the split is by time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from tenure.config import NPS_DETRACTOR_MAX, NPS_PROMOTER_MIN
from tenure.errors import InputError
from tenure.metrics.bridge import MOVEMENTS, movements
from tenure.metrics.periods import Period
from tenure.metrics.registry import get_metric
from tenure.metrics.surveys import wilson_interval

GROUPS = ("promoter", "passive", "detractor")
REPORTED = (*GROUPS, "unrated")
HORIZONS = (180, 365)
COLUMNS = ("opening", *MOVEMENTS)


def data_day(wh: Any) -> date | None:
    """The day the warehouse's account summary describes (None before the first refresh)."""
    s = wh.table("account_summary")
    v = wh.execute(s.as_of.max())
    if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v):
        return None
    return pd.Timestamp(v).date()


def nps_group(score: pd.Series) -> pd.Series:
    """promoter (9-10), passive (7-8), detractor (0-6) of NPS scores."""
    return pd.Series(np.select([score >= NPS_PROMOTER_MIN, score > NPS_DETRACTOR_MAX], ["promoter", "passive"],
                               default="detractor"),
                     index=score.index)


def account_groups(wh: Any, cutoff: date, *, lookback_days: int = 365) -> pd.DataFrame:
    """account_id, nps (the score that classifies it), group: each account's latest NPS answer on
    or before `cutoff` (the lowest of that day's answers), at most lookback_days old."""
    s = wh.table("survey_responses")
    end = cutoff + timedelta(days=1)
    s = s.filter((s.kind == "nps") & (s.responded_at < end)
                 & (s.responded_at >= cutoff - timedelta(days=lookback_days - 1)))
    s = s.mutate(day=s.responded_at.cast("date"))
    last = s.group_by("account_id").aggregate(last_day=s.day.max())
    j = s.join(last, (s.account_id == last.account_id) & (s.day == last.last_day))
    g = j.group_by(j.account_id).aggregate(nps=j.score.min(), answered_on=j.day.max())
    df = wh.to_pyarrow(g.select("account_id", nps=g.nps.cast("int64"),
                                answered_on=g.answered_on)).to_pandas()
    df["group"] = nps_group(df["nps"]) if len(df) else pd.Series(dtype=str)
    return df


def outcomes(wh: Any, config: Any, cutoff: date, horizon: int) -> pd.DataFrame:
    """Per account with ARR on `cutoff`: opening, each movement and churned (bool) over the
    `horizon` days after it (the metrics layer's bridge)."""
    p = Period(f"{cutoff.isoformat()}+{horizon}d", cutoff + timedelta(days=1), cutoff + timedelta(days=horizon))
    m = movements(wh, config, [p])
    m = m.filter(m.opening > 0).select("account_id", *COLUMNS, churned=m.kind == "churn")
    df = wh.to_pyarrow(m).to_pandas()
    for c in COLUMNS:
        df[c] = df[c].astype(float)
    return df


def _coefficients(metric_name: str) -> dict[str, float]:
    """The metric's numerator and denominator as linear combinations of the bridge columns,
    read off the registry's own functions (so this module never restates the formula)."""
    m = get_metric(metric_name)
    zero = {c: Decimal(0) for c in COLUMNS}

    def coef(fn):
        base = float(fn(zero))
        return {c: float(fn({**zero, c: Decimal(1)})) - base for c in COLUMNS}

    return {"num": coef(m.numerator), "den": coef(m.denominator)}


def _ratio_terms(df: pd.DataFrame, coefs: dict[str, dict[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    num = sum(df[c].to_numpy() * w for c, w in coefs["num"].items() if w)
    den = sum(df[c].to_numpy() * w for c, w in coefs["den"].items() if w)
    return np.asarray(num, float), np.asarray(den, float)


def _boot_means(values: np.ndarray, weights: np.ndarray | None, resamples: int, rng: np.random.Generator
                ) -> np.ndarray:
    """Bootstrap replicates of sum(values)/sum(weights) (or the mean of values), resampling rows."""
    n = len(values)
    if n == 0:
        return np.full(resamples, np.nan)
    idx = rng.integers(0, n, size=(resamples, n))
    num = values[idx].sum(axis=1)
    if weights is None:
        return num / n
    den = weights[idx].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / den, np.nan)


def _interval(x: np.ndarray) -> tuple[float | None, float | None]:
    x = x[~np.isnan(x)]
    if not len(x):
        return None, None
    lo, hi = np.quantile(x, [0.025, 0.975])
    return float(lo), float(hi)


def horizon_result(wh: Any, config: Any, cutoff: date, horizon: int, *, lookback_days: int = 365,
                   resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """One horizon's comparison at one cut-off (see the module's docstring)."""
    out = outcomes(wh, config, cutoff, horizon)
    groups = account_groups(wh, cutoff, lookback_days=lookback_days)
    df = out.merge(groups[["account_id", "nps", "group"]], on="account_id", how="left")
    df["group"] = df["group"].fillna("unrated")
    nrr = _coefficients("nrr")
    churn_metric = get_metric("logo_churn_rate")
    rng = np.random.default_rng(seed)
    rows, boots = [], {}
    for name in REPORTED:
        g = df[df["group"] == name]
        n, k = int(len(g)), int(g["churned"].sum())
        num, den = _ratio_terms(g, nrr)
        row: dict[str, Any] = {"group": name, "n": n, "churned": k, "opening_arr": float(g["opening"].sum())}
        if n:
            rate = float(churn_metric.numerator({"churned_accounts": k}) / churn_metric.denominator(
                {"opening_accounts": n}))
            _, _, lo, hi = wilson_interval(k, n)
            value = float(num.sum() / den.sum()) if den.sum() else None
            b_churn = _boot_means(g["churned"].to_numpy(float), None, resamples, rng)
            b_nrr = _boot_means(num, den, resamples, rng)
            nlo, nhi = _interval(b_nrr)
            row.update(churn_rate=rate, churn_low=lo, churn_high=hi, nrr=value, nrr_low=nlo, nrr_high=nhi)
            boots[name] = (b_churn, b_nrr)
        else:
            row.update(churn_rate=None, churn_low=None, churn_high=None, nrr=None, nrr_low=None, nrr_high=None)
        rows.append(row)
    by = {r["group"]: r for r in rows}
    diffs = []
    for a in ("detractor", "passive"):
        if a not in boots or "promoter" not in boots:
            continue
        for measure, i in (("churn_rate", 0), ("nrr", 1)):
            lo, hi = _interval(boots[a][i] - boots["promoter"][i])
            va, vb = by[a][measure], by["promoter"][measure]
            diff = None if va is None or vb is None else va - vb
            diffs.append({"measure": measure, "group": a, "versus": "promoter", "difference": diff,
                          "low": lo, "high": hi,
                          "significant": bool(lo is not None and (lo > 0 or hi < 0))})
    return {"horizon_days": horizon, "cutoff": cutoff, "window": [cutoff + timedelta(days=1),
                                                                  cutoff + timedelta(days=horizon)],
            "groups": rows, "differences": diffs}


def validate(wh: Any, config: Any, *, as_of: date | None = None, horizons: Sequence[int] = HORIZONS,
             cutoffs: dict[int, date] | None = None, lookback_days: int = 365, resamples: int = 2000,
             seed: int = 0) -> dict[str, Any]:
    """Churn and NRR by NPS group for each horizon, at the latest cut-off whose outcome window
    ends on or before `as_of` (default: the data's day), or at `cutoffs[h]` when given (refused
    when its window is not observed by as_of)."""
    day = as_of or data_day(wh)
    if day is None:
        raise InputError("the warehouse has no account summary yet: run `tenure refresh` first (or pass --as-of)")
    first = _first_day(wh)
    results = []
    for h in horizons:
        if h <= 0:
            raise InputError(f"horizon {h}: give a positive number of days (e.g. 180, 365)")
        c = (cutoffs or {}).get(h) or day - timedelta(days=h)
        if c + timedelta(days=h) > day:
            raise InputError(f"cut-off {c.isoformat()} with horizon {h} days ends on "
                             f"{(c + timedelta(days=h)).isoformat()}, after the data's day {day.isoformat()}: "
                             "its outcome is not observed yet; choose an earlier cut-off or --as-of")
        if first is not None and c < first:
            results.append({"horizon_days": h, "cutoff": c, "window": None, "groups": [], "differences": [],
                            "note": f"the data starts on {first.isoformat()}: no account history before the "
                                    f"cut-off {c.isoformat()}"})
            continue
        results.append(horizon_result(wh, config, c, h, lookback_days=lookback_days, resamples=resamples,
                                      seed=seed))
    return {"as_of": day, "lookback_days": lookback_days, "resamples": resamples,
            "rule": "account: latest NPS answer on or before the cut-off (lowest of that day), at most "
                    f"{lookback_days} days old; 9-10 promoter, 7-8 passive, 0-6 detractor",
            "horizons": results}


def _first_day(wh: Any) -> date | None:
    lines = wh.table("contract_lines")
    v = wh.execute(lines.start_date.min())
    return None if v is None or pd.isna(v) else pd.Timestamp(v).date()
