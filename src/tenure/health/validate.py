"""Scorecard validation on the customer's own history: how well the score and each component
separated accounts that churned within the horizon from those that did not, churn and renewal
rates per band, and data-fitted weights judged out of time.

An account churns within the horizon when it has ARR on the as-of day and none `horizon` days
later (the metrics layer's ARR, so churn means what it means everywhere in tenure). As-of dates
step back from the latest date whose horizon is fully observed. Fitted weights are learned on
the earlier half of the as-of dates and judged on the later half only."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.stats import rankdata

from tenure.config import Config
from tenure.errors import InputError
from tenure.health import BAND_TABLE
from tenure.health.scorecard import ONBOARDING, Scorecard, load_scorecard, score_table
from tenure.metrics.arr import arr_on
from tenure.warehouse import Warehouse
from tenure.warehouse.asof import latest_event_day


def auc(labels: np.ndarray, risk: np.ndarray) -> float | None:
    """Area under the ROC curve of `risk` for `labels` (1 = churned), via ranks (Mann-Whitney)."""
    labels = np.asarray(labels, dtype=bool)
    n1, n0 = labels.sum(), (~labels).sum()
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(risk)
    return float((ranks[labels].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def labelled_scores(wh: Warehouse, config: Config, as_of: date, horizon: int, card: Scorecard) -> pd.DataFrame:
    # scored from the facts as known on that day; judged by what happened (the latest facts)
    scores = wh.execute(score_table(wh, config, as_of, card, known_at=as_of)).sort_values("account_id",
                                                                                          ignore_index=True)
    later = wh.execute(arr_on(wh, config, as_of + timedelta(days=horizon)).filter(lambda t: t.arr > 0))
    scores["churned"] = ~scores.account_id.isin(later.account_id)
    scores["as_of"] = as_of
    return scores


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Logistic regression by maximum likelihood (SciPy), returning coefficients (intercept last)."""
    xb = np.column_stack([x, np.ones(len(x))])

    def loss(w):
        z = xb @ w
        return float(np.sum(np.logaddexp(0, z) - y * z) + l2 * np.sum(w[:-1] ** 2))

    def grad(w):
        p = 1 / (1 + np.exp(-(xb @ w)))
        g = xb.T @ (p - y)
        g[:-1] += 2 * l2 * w[:-1]
        return g

    return optimize.minimize(loss, np.zeros(xb.shape[1]), jac=grad, method="L-BFGS-B").x


def validate(wh: Warehouse, config: Config, horizon: int = BAND_TABLE["horizon"], dates: int = BAND_TABLE["dates"],
             step_days: int = BAND_TABLE["step_days"], as_of: date | None = None) -> dict:
    """Score AUC and the band table on past days whose outcome `horizon` days later is known by
    `as_of` (default: the one "as of", tenure.warehouse.asof.latest_event_day)."""
    card = load_scorecard(config)
    last_day = as_of or latest_event_day(wh)
    if last_day is None:
        raise InputError("no events in the warehouse yet: nothing to validate the scorecard on")
    newest = last_day - timedelta(days=horizon)
    as_ofs = sorted(newest - timedelta(days=step_days * k) for k in range(dates))
    frames = [labelled_scores(wh, config, d, horizon, card) for d in as_ofs]
    df = pd.concat(frames, ignore_index=True)
    comps = card.components
    y_all = df.churned.to_numpy().astype(float)
    report: dict = {"horizon_days": horizon, "as_of_dates": [str(d) for d in as_ofs], "accounts_scored": len(df),
                    "churned": int(y_all.sum()), "churn_rate": round(float(y_all.mean()), 4)}
    report["score_auc"] = _round(auc(y_all, -df.score.fillna(50).to_numpy()))
    bands = df.groupby("band").agg(accounts=("churned", "size"), churned=("churned", "sum"))
    report["bands"] = [{"band": b, "accounts": int(r.accounts), "churn_rate": round(r.churned / r.accounts, 4),
                        "renewal_probability": round(1 - r.churned / r.accounts, 4)}
                       for b, r in bands.reindex(["green", "yellow", "red", ONBOARDING]).dropna().iterrows()]
    # components and fitted weights: on the account-dates the default list scored (not onboarding,
    # not a segment with its own list), so each column is one component
    own = np.logical_and.reduce([(df[f"c{i}_name"] == c.name).to_numpy() for i, c in enumerate(comps)])
    df = df[own].reset_index(drop=True)
    points = np.column_stack([df[f"c{i}_points"].astype(float).fillna(50.0).to_numpy() for i in range(len(comps))])
    y = df.churned.to_numpy().astype(float)
    report["components"] = [
        {"name": c.name, "feature": c.feature, "weight": c.weight,
         "auc": _round(auc(y[df[f"c{i}_points"].notna()], -df[f"c{i}_points"].dropna().to_numpy())),
         "missing_share": round(float(df[f"c{i}_points"].isna().mean()), 4)}
        for i, c in enumerate(comps)]
    # fitted weights: learn on the earlier as-of dates, judge on the later ones (out of time)
    split = as_ofs[len(as_ofs) // 2]
    train = (df.as_of < split).to_numpy()
    test = ~train
    w = _fit_logistic(points[train] / 100.0, y[train])
    fitted_risk = points[test] / 100.0 @ w[:-1]
    default_auc_test = auc(y[test], -df.score.fillna(50).to_numpy()[test])
    fitted_auc_test = auc(y[test], fitted_risk)
    health_weights = np.clip(-w[:-1], 0, None)
    total = health_weights.sum() or 1.0
    report["fitted"] = {
        "trained_on": [str(d) for d in as_ofs if d < split], "judged_on": [str(d) for d in as_ofs if d >= split],
        "default_auc_out_of_time": _round(default_auc_test), "fitted_auc_out_of_time": _round(fitted_auc_test),
        "gain": _round(fitted_auc_test - default_auc_test) if None not in (fitted_auc_test, default_auc_test) else None,
        "weights": [{"name": c.name, "current": c.weight, "proposed": round(100 * hw / total, 1)}
                    for c, hw in zip(comps, health_weights)],
    }
    return report


def _round(v):
    return None if v is None else round(float(v), 4)
