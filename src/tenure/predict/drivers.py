"""Churn-risk drivers a CSM can act on: each driver carries the account's raw feature value, a
readable label with its unit, whether the value is low or high against the accounts the model
was trained on, and its effect on the log-odds of churn, as one line of text:

    "seat utilisation 2% (low), +0.9"
    "no renewal date (monthly or rolling term), +0.4"
    "segment: SMB, +0.3"

Pages and the API display `text`; `feature`, `value` and `effect` stay for machines."""

from __future__ import annotations

import math
from typing import Any

# feature -> (readable label, how to show its value). Kinds: pct (a ratio shown as %), days,
# count, score5 (1-5), score10 (0-10), money, flag.
LABELS: dict[str, tuple[str, str]] = {
    "arr": ("ARR", "money"),
    "active_days_30": ("active days in the last 30", "days"),
    "events_30": ("usage events in the last 30 days", "count"),
    "usage_trend": ("usage vs the 60 days before", "pct"),
    "features_used_30": ("features used in the last 30 days", "count"),
    "peak_users_30": ("peak daily users in the last 30 days", "count"),
    "seat_utilization": ("seat utilisation", "pct"),
    "tickets_90": ("tickets in the last 90 days", "count"),
    "urgent_tickets_90": ("urgent tickets in the last 90 days", "count"),
    "escalations_90": ("escalations in the last 90 days", "count"),
    "ticket_csat_90": ("ticket CSAT (90 days)", "score5"),
    "nps_latest": ("latest NPS score", "score10"),
    "exec_sponsor_active": ("executive sponsor", "flag"),
    "champion_active": ("champion", "flag"),
    "champion_left_90": ("champion or sponsor left in the last 90 days", "flag"),
    "exec_activities_180": ("executive touches in the last 180 days", "count"),
    "overdue_invoices": ("overdue invoices", "count"),
    "arr_change_90": ("ARR vs 90 days ago", "pct"),
    "days_to_renewal": ("days to renewal", "days"),
    "onboarding_completion": ("onboarding milestones done", "pct"),
    "days_since_first_arr": ("days as a customer", "days"),
    "in_onboarding": ("in onboarding", "flag"),
}

# what a missing value means, said as a reason (the model's missing-value indicator)
MISSING: dict[str, str] = {
    "days_to_renewal": "no renewal date (monthly or rolling term)",
    "nps_latest": "no NPS response yet",
    "ticket_csat_90": "no ticket CSAT in the last 90 days",
    "usage_trend": "no usage in the 60 days before the last 30",
    "seat_utilization": "no seat count on the active contract",
    "arr_change_90": "not a customer 90 days ago",
    "onboarding_completion": "no onboarding milestones due yet",
}

# flags: what a 1 and a 0 say
FLAGS: dict[str, tuple[str, str]] = {
    "exec_sponsor_active": ("executive sponsor active", "no active executive sponsor"),
    "champion_active": ("champion active", "no active champion"),
    "champion_left_90": ("champion or sponsor left in the last 90 days", "no champion or sponsor left"),
    "in_onboarding": ("in onboarding", "past onboarding"),
}


def label(feature: str) -> str:
    """A readable label for a feature or custom attribute ('attr_plan' -> 'plan')."""
    if feature in LABELS:
        return LABELS[feature][0]
    return feature.removeprefix("attr_").replace("_", " ")


def format_value(feature: str, value: Any) -> str:
    """The raw value with its unit: 0.02 -> '2%', 45 -> '45 days', 3.5 -> '3.5 of 5'."""
    kind = LABELS.get(feature, ("", "number"))[1]
    v = float(value)
    if kind == "pct":
        return f"{v:.0%}" if abs(v) >= 0.1 else f"{v * 100:.1f}".rstrip("0").rstrip(".") + "%"
    if kind == "days":
        return f"{v:,.0f} day" + ("" if round(v) == 1 else "s")
    if kind == "count":
        return f"{v:,.0f}"
    if kind == "score5":
        return f"{v:.1f} of 5"
    if kind == "score10":
        return f"{v:.0f} of 10"
    if kind == "money":
        for unit, size in (("M", 1e6), ("k", 1e3)):
            if abs(v) >= size:
                return f"{v / size:,.1f}{unit}"
        return f"{v:,.0f}"
    return f"{v:,.4g}"


def _qualifier(value: float, reference: tuple[float, float] | None) -> str:
    """' (low)' below the training accounts' 25th percentile, ' (high)' above their 75th."""
    if not reference:
        return ""
    low, high = reference
    if low == high:
        return ""
    return " (low)" if value < low else " (high)" if value > high else ""


def _plain(v: Any) -> Any:
    """A JSON-safe raw value: numbers as float/int, missing as None."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 2**53 else round(f, 6)


def describe(feature: str, value: Any, effect: float, categorical: bool,
             reference: tuple[float, float] | None = None) -> dict:
    """One driver: the source feature (a health feature or custom attribute), the account's raw
    value (None when missing), its effect on the log-odds of churn, and the text a CSM reads."""
    sign = f"{effect:+.1f}" if abs(effect) >= 0.05 else f"{effect:+.2f}"
    value = _plain(value)
    out = {"feature": feature, "label": label(feature), "value": value, "effect": round(float(effect), 3)}
    if categorical:
        shown = "(none)" if value is None else value
        return {**out, "text": f"{label(feature)}: {shown}, {sign}"}
    if value is None:
        reason = MISSING.get(feature, f"no {label(feature)} data")
        return {**out, "missing": True, "text": f"{reason}, {sign}"}
    if feature in FLAGS:
        text = FLAGS[feature][0] if float(value) >= 0.5 else FLAGS[feature][1]
    else:
        text = f"{label(feature)} {format_value(feature, value)}{_qualifier(float(value), reference)}"
    return {**out, "text": f"{text}, {sign}"}
