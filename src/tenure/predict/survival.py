"""Kaplan-Meier survival curves of accounts by group (lifelines' estimator)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tenure.predict.base import ModelInputError


def kaplan_meier(durations, observed, groups=None) -> pd.DataFrame:
    """A tidy table: group, t, survival, ci_lower, ci_upper, at_risk. `observed` is 1 when the
    account churned at `duration`, 0 when it is still active (censored)."""
    from lifelines import KaplanMeierFitter

    d = np.asarray(durations, dtype=float)
    e = np.asarray(observed, dtype=int)
    g = np.asarray(groups) if groups is not None else np.full(d.size, "all")
    if not (d.size == e.size == g.size) or d.size == 0:
        raise ModelInputError("durations, observed and groups must be equal-length and non-empty")
    if (d < 0).any():
        raise ModelInputError("durations must be >= 0")
    frames = []
    for name in pd.unique(g):  # one fit per group (a handful of groups)
        mask = g == name
        km = KaplanMeierFitter().fit(d[mask], e[mask])
        ci = km.confidence_interval_survival_function_
        frames.append(pd.DataFrame({
            "group": name, "t": km.survival_function_.index.to_numpy(),
            "survival": km.survival_function_.iloc[:, 0].to_numpy(),
            "ci_lower": ci.iloc[:, 0].to_numpy(), "ci_upper": ci.iloc[:, 1].to_numpy(),
            "at_risk": km.event_table["at_risk"].to_numpy()}))
    return pd.concat(frames, ignore_index=True)
