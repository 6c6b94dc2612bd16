"""Every metric, declared once as data: name, description, unit, formula, grain, allowed
dimensions, direction, and how its numerator and denominator come from the bridge or the
unit-economics aggregates. docs/metrics.md is checked against this registry by a test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from tenure.errors import NotFoundError

Row = dict[str, Decimal | int | None]


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    unit: Literal["currency", "ratio", "count", "months", "years", "days", "score"]
    formula: str
    source: Literal["bridge", "economics", "ttv", "survey"]
    numerator: Callable[[Row], Decimal | int | None]
    denominator: Callable[[Row], Decimal | int | None] | None = None
    direction: Literal["up", "down"] = "up"
    grain: str = "period x group"
    dimensions: str = "any account attribute, product/plan, custom attributes"
    trailing_12: bool = False
    # How the rate compounds over time, so a target set for one period length can be restated for
    # another: "retained" (GRR, NRR: r_k = r^k), "lost" (churn: 1 - (1 - r)^k), "gained"
    # (expansion: (1 + r)^k - 1); None: not restatable (money, counts), compared at its own grain only.
    compounding: Literal["retained", "lost", "gained"] | None = None


def _d(row: Row, key: str) -> Decimal:
    v = row.get(key)
    return Decimal(0) if v is None else Decimal(v)


def _grr_num(r: Row) -> Decimal:
    return _d(r, "opening") - _d(r, "contraction") - _d(r, "churn")


def _nrr_num(r: Row) -> Decimal:
    return _d(r, "opening") + _d(r, "expansion") - _d(r, "contraction") - _d(r, "churn")


ECON_DIMS = "segment"
SURVEY_DIMS = "any account attribute, custom attributes"

METRICS: tuple[Metric, ...] = (
    Metric("arr", "Closing ARR: annual recurring revenue on the period's last day", "currency",
           "sum of closing ARR", "bridge", lambda r: _d(r, "closing")),
    Metric("opening_arr", "ARR on the day before the period's first day", "currency",
           "sum of opening ARR", "bridge", lambda r: _d(r, "opening")),
    Metric("new_arr", "ARR of accounts that had never had ARR before the period", "currency",
           "sum of new", "bridge", lambda r: _d(r, "new")),
    Metric("reactivation_arr", "ARR of returning accounts (within the reactivation window)", "currency",
           "sum of reactivation", "bridge", lambda r: _d(r, "reactivation")),
    Metric("expansion_arr", "ARR added by accounts present at both ends", "currency",
           "sum of expansion", "bridge", lambda r: _d(r, "expansion")),
    Metric("contraction_arr", "ARR lost by accounts present at both ends", "currency",
           "sum of contraction", "bridge", lambda r: _d(r, "contraction"), direction="down"),
    Metric("churned_arr", "Opening ARR of accounts with no ARR at the end", "currency",
           "sum of churn", "bridge", lambda r: _d(r, "churn"), direction="down"),
    Metric("net_new_arr", "Closing minus opening ARR", "currency", "closing - opening", "bridge",
           lambda r: _d(r, "closing") - _d(r, "opening")),
    Metric("grr", "Gross revenue retention", "ratio", "(opening - contraction - churn) / opening", "bridge",
           _grr_num, lambda r: _d(r, "opening"), compounding="retained"),
    Metric("nrr", "Net revenue retention", "ratio", "(opening + expansion - contraction - churn) / opening",
           "bridge", _nrr_num, lambda r: _d(r, "opening"), compounding="retained"),
    Metric("grr_t12m", "Gross revenue retention over the 12 months ending with the period", "ratio",
           "grr over the trailing 12 months", "bridge", _grr_num, lambda r: _d(r, "opening"), trailing_12=True,
           compounding="retained"),
    Metric("nrr_t12m", "Net revenue retention over the 12 months ending with the period", "ratio",
           "nrr over the trailing 12 months", "bridge", _nrr_num, lambda r: _d(r, "opening"), trailing_12=True,
           compounding="retained"),
    Metric("logo_churn_rate", "Share of opening accounts with no ARR at the end", "ratio",
           "churned accounts / accounts with opening > 0", "bridge", lambda r: r["churned_accounts"],
           lambda r: r["opening_accounts"], direction="down", compounding="lost"),
    Metric("revenue_churn_rate", "Churned ARR as a share of opening ARR", "ratio", "churn / opening", "bridge",
           lambda r: _d(r, "churn"), lambda r: _d(r, "opening"), direction="down", compounding="lost"),
    Metric("expansion_rate", "Expansion ARR as a share of opening ARR", "ratio", "expansion / opening", "bridge",
           lambda r: _d(r, "expansion"), lambda r: _d(r, "opening"), compounding="gained"),
    Metric("contraction_rate", "Contraction ARR as a share of opening ARR", "ratio", "contraction / opening",
           "bridge", lambda r: _d(r, "contraction"), lambda r: _d(r, "opening"), direction="down",
           compounding="lost"),
    Metric("customers", "Accounts with ARR on the period's last day", "count", "count(closing > 0)", "bridge",
           lambda r: r["closing_accounts"]),
    Metric("new_customers", "Accounts new in the period", "count", "count(new)", "bridge",
           lambda r: r["new_accounts"]),
    Metric("churned_customers", "Accounts churned in the period", "count", "count(churn)", "bridge",
           lambda r: r["churned_accounts"], direction="down"),
    Metric("arpa", "Average ARR per account at the period's end (annual; /12 for monthly ARPA)", "currency",
           "closing ARR / closing accounts", "bridge", lambda r: _d(r, "closing"), lambda r: r["closing_accounts"]),
    Metric("cac", "Customer acquisition cost: acquisition spend per new customer", "currency",
           "spend / new customers", "economics", lambda r: r["spend"], lambda r: r["new_accounts"],
           direction="down", dimensions=ECON_DIMS),
    Metric("gross_margin", "Gross margin % of recurring revenue after cost to serve", "ratio",
           "(revenue - cost to serve) / revenue; revenue = sum of month-end ARR / 12 over the period's months",
           "economics", lambda r: r["revenue"] - r["cost"] if r["revenue"] is not None else None,
           lambda r: r["revenue"], dimensions=ECON_DIMS),
    Metric("customer_lifetime", "Expected customer lifetime in years", "years",
           "1 / annual logo churn (period logo churn x 12 / months, linear)", "economics",
           lambda r: r["lifetime_years"], dimensions=ECON_DIMS),
    Metric("clv", "Customer lifetime value", "currency", "ARPA x gross margin % x lifetime (years)",
           "economics", lambda r: r["clv"], dimensions=ECON_DIMS),
    Metric("clv_cac", "CLV to CAC ratio", "ratio", "clv / cac", "economics", lambda r: r["clv"],
           lambda r: r["cac"], dimensions=ECON_DIMS),
    Metric("cac_payback_months", "Months of gross-margin revenue to recover CAC", "months",
           "cac / (ARPA / 12 x gross margin %)", "economics", lambda r: r["payback_months"],
           direction="down", dimensions=ECON_DIMS),
    Metric("cost_to_serve_per_account", "Cost to serve per average account in the period", "currency",
           "cost to serve / ((opening accounts + closing accounts) / 2)", "economics", lambda r: r["cost"],
           lambda r: r["avg_accounts"], direction="down", dimensions=ECON_DIMS),
    Metric("time_to_value_days", "Median days from account creation to the first-value milestone, for "
           "accounts created in the period", "days", "median(completed_at(first value) - created_at)", "ttv",
           lambda r: r["median_days"], direction="down", dimensions=ECON_DIMS),
    # survey scores (metrics/surveys.py): window and weighting are metrics.surveys settings, each value
    # carries n and a 95% interval; the value is formed there, so the numerator here is the value itself
    Metric("nps", "Net Promoter Score (Reichheld 2003): promoters (9-10) minus detractors (0-6), in points "
           "of the 0-10 answers counted", "score", "100 x (promoters - detractors) / respondents", "survey",
           lambda r: r["value"], grain="window x group", dimensions=SURVEY_DIMS),
    Metric("csat", "Customer satisfaction: share of satisfied answers (4-5 on the 1-5 scale, top two boxes)",
           "ratio", "satisfied answers (score >= 4) / respondents", "survey", lambda r: r["value"],
           grain="window x group", dimensions=SURVEY_DIMS),
    Metric("ces", "Customer effort score: mean answer on the 1-7 scale (CES 2.0: 7 = strongly agree the "
           "company made it easy)", "score", "mean score / respondents (1-7)", "survey", lambda r: r["value"],
           grain="window x group", dimensions=SURVEY_DIMS),
    Metric("survey_response_rate", "Share of the survey invitations sent in the window that got an answer "
           "(survey_invitations; an answer of the same account, contact, kind and survey, at or after the send)",
           "ratio", "answered invitations / invitations sent", "survey", lambda r: r["value"],
           grain="window x group", dimensions=SURVEY_DIMS),
)

REGISTRY: dict[str, Metric] = {m.name: m for m in METRICS}


def get_metric(name: str) -> Metric:
    try:
        return REGISTRY[name]
    except KeyError:
        raise NotFoundError(f"unknown metric {name!r}; see `tenure metrics list`") from None
