"""Recency-frequency-monetary summaries of a transaction log, vectorized with pandas."""

from __future__ import annotations

import pandas as pd

from tenure.predict.base import ModelInputError

UNITS = {"day": 1.0, "week": 7.0, "month": 30.4375}


def rfm_summary(log: pd.DataFrame, customer_col: str, date_col: str, value_col: str | None,
                calibration_end, time_unit: str = "week") -> pd.DataFrame:
    """Per customer: frequency (repeat purchase days), recency (first to last purchase), T (first
    purchase to calibration end), monetary_value (mean value of repeat purchases), in time_unit.
    Purchases on the same day count once (their values add up); purchases after
    calibration_end are ignored."""
    if time_unit not in UNITS:
        raise ModelInputError(f"time unit {time_unit!r}: use day, week or month")
    for col in (customer_col, date_col, value_col):
        if col and col not in log.columns:
            raise ModelInputError(f"no column {col!r} (columns: {', '.join(map(str, log.columns))})")
    end = pd.Timestamp(calibration_end)
    df = log[[customer_col, date_col] + ([value_col] if value_col else [])].copy()
    df[date_col] = pd.to_datetime(df[date_col], errors="coerce", utc=True).dt.tz_localize(None).dt.normalize()
    if df[date_col].isna().any():
        bad = df[df[date_col].isna()].index[0]
        raise ModelInputError(f"row {bad + 1}: {date_col} is not a date")
    df = df[df[date_col] <= end]
    if value_col:
        df = df.groupby([customer_col, date_col], as_index=False)[value_col].sum()
    else:
        df = df.drop_duplicates([customer_col, date_col])
    g = df.groupby(customer_col)
    first, last, n = g[date_col].min(), g[date_col].max(), g[date_col].count()
    unit = UNITS[time_unit]
    out = pd.DataFrame({"frequency": n - 1, "recency": (last - first).dt.days / unit, "T": (end - first).dt.days / unit})
    if value_col:
        first_value = df.sort_values(date_col).groupby(customer_col)[value_col].first()
        total = g[value_col].sum()
        out["monetary_value"] = ((total - first_value) / out["frequency"]).where(out["frequency"] > 0, 0.0)
    return out
