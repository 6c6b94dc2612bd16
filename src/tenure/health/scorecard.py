"""Health scorecards: configurable components, each a feature normalized to 0-100 points and
weighted; the score (0-100), its band, and each component's value, points and contribution.

Configured under `health:` in tenure.yaml (validated here, errors name the key); without it the
default scorecard below applies. Normalizations:
  thresholds  points of the highest bound the value reaches (direction: higher is better), or
              of the first bound it stays under or at (direction: lower)
  percentile  100 x the account's percentile rank within its segment (direction as above)
Missing data (e.g. no NPS answer yet) is handled per scorecard: `reweight` drops the component
and renormalizes the other weights; `neutral` gives it 50 points. Either way it is shown.
Bands (Gainsight's example): red up to 50, yellow up to 75, green above; each band's lower
bound is exclusive."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenure.config import Config, _format_validation_error
from tenure.errors import ConfigError
from tenure.health.features import FEATURES, account_features
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis, ir

FEATURE_NAMES = {f.name for f in FEATURES}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Component(_Strict):
    name: str
    feature: str
    weight: float = Field(..., gt=0)
    normalization: Literal["thresholds", "percentile"] = "thresholds"
    direction: Literal["higher", "lower"] = "higher"
    thresholds: list[tuple[float, float]] = Field(default_factory=list,
                                                  description="[bound, points] pairs, bounds ascending")

    @model_validator(mode="after")
    def _check(self) -> Component:
        if self.feature not in FEATURE_NAMES:
            raise ValueError(f"unknown feature {self.feature!r}; one of {', '.join(sorted(FEATURE_NAMES))}")
        if self.normalization == "thresholds":
            if not self.thresholds:
                raise ValueError("thresholds normalization needs thresholds: [[bound, points], ...]")
            bounds = [b for b, _ in self.thresholds]
            if bounds != sorted(bounds):
                raise ValueError("threshold bounds must be ascending")
            if any(not 0 <= p <= 100 for _, p in self.thresholds):
                raise ValueError("threshold points must be between 0 and 100")
        return self


class Bands(_Strict):
    red: float = Field(50, description="scores up to this are red")
    yellow: float = Field(75, description="scores above red and up to this are yellow; above is green")


# Accounts in onboarding (tenure.health.onboarding) are scored on what a new customer can show:
# milestones done on time, and how far along the way to first value it is.
DEFAULT_ONBOARDING_COMPONENTS: list[dict[str, Any]] = [
    {"name": "onboarding milestones", "feature": "onboarding_completion", "weight": 60,
     "thresholds": [[0, 20], [0.5, 50], [0.75, 75], [1.0, 100]]},
    {"name": "days toward first value", "feature": "days_since_first_arr", "weight": 40, "direction": "lower",
     "thresholds": [[30, 100], [45, 80], [60, 60], [75, 40], [1000000, 20]]},
]


class Scorecard(_Strict):
    components: list[Component]
    missing: Literal["reweight", "neutral"] = "reweight"
    bands: Bands = Field(default_factory=Bands)
    segments: dict[str, list[Component]] = Field(default_factory=dict,
                                                 description="per-segment component lists replacing the default")
    onboarding: list[Component] = Field(
        default_factory=lambda: [Component.model_validate(c) for c in DEFAULT_ONBOARDING_COMPONENTS],
        description="components that score accounts still in onboarding (band 'onboarding', never red)")


DEFAULT_SCORECARD: dict[str, Any] = {
    "missing": "reweight",
    "bands": {"red": 50, "yellow": 75},
    "components": [
        {"name": "usage frequency", "feature": "active_days_30", "weight": 20,
         "thresholds": [[1, 10], [5, 30], [10, 55], [15, 75], [20, 90], [25, 100]]},
        {"name": "adoption breadth", "feature": "features_used_30", "weight": 15,
         "thresholds": [[1, 10], [3, 30], [6, 55], [9, 75], [12, 100]]},
        {"name": "seat utilization", "feature": "seat_utilization", "weight": 10,
         "thresholds": [[0.05, 20], [0.1, 40], [0.2, 65], [0.3, 85], [0.5, 100]]},
        {"name": "usage trend", "feature": "usage_trend", "weight": 10,
         "thresholds": [[0.3, 10], [0.6, 35], [0.85, 60], [1.0, 80], [1.15, 100]]},
        {"name": "support load", "feature": "urgent_tickets_90", "weight": 10, "direction": "lower",
         "thresholds": [[0, 100], [1, 60], [2, 30], [1000000, 0]]},
        {"name": "relationship (NPS)", "feature": "nps_latest", "weight": 15,
         "thresholds": [[0, 10], [5, 30], [7, 65], [9, 100]]},
        {"name": "champion", "feature": "champion_active", "weight": 10, "thresholds": [[0, 0], [1, 100]]},
        {"name": "financial", "feature": "overdue_invoices", "weight": 5, "direction": "lower",
         "thresholds": [[0, 100], [1, 40], [1000000, 0]]},
        {"name": "onboarding", "feature": "onboarding_completion", "weight": 5,
         "thresholds": [[0.25, 20], [0.5, 50], [0.75, 75], [1.0, 100]]},
    ],
}


def load_scorecard(config: Config) -> Scorecard:
    """The scorecard from `health.scorecard` in tenure.yaml, or the default."""
    raw = (config.health or {}).get("scorecard", DEFAULT_SCORECARD)
    extra = set(config.health or {}) - {"scorecard", "signals", "onboarding"}
    if extra:
        raise ConfigError(f"health: unknown key(s) {', '.join(sorted(extra))} "
                          "(expected: scorecard, signals, onboarding)")
    try:
        return Scorecard.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, "health.scorecard")) from None


ONBOARDING = "onboarding"


def band_of(score: float | None, bands: Bands, onboarding: bool = False) -> str | None:
    """The band of a score: red, yellow or green; "onboarding" for an account still onboarding,
    whatever its score (it has had no time to earn adoption or relationship points)."""
    if onboarding:
        return ONBOARDING
    if score is None:
        return None
    return "red" if score <= bands.red else "yellow" if score <= bands.yellow else "green"


def band_expr(score: ir.FloatingValue, onboarding: ir.IntegerValue, bands: Bands) -> ir.StringValue:
    """band_of in the engine."""
    return ibis.cases((onboarding == 1, ONBOARDING), (score.isnull(), ibis.null("string")),
                      (score <= bands.red, "red"), (score <= bands.yellow, "yellow"), else_="green")


def _points(t: ir.Table, c: Component) -> ir.FloatingValue:
    v = t[c.feature].cast("float64")
    if c.normalization == "percentile":
        rank = ibis.percent_rank().over(group_by=t.segment, order_by=v)
        pts = rank * 100.0 if c.direction == "higher" else (1 - rank) * 100.0
        return ibis.ifelse(v.isnull(), ibis.null("float64"), pts)
    if c.direction == "higher":
        pts = ibis.literal(0.0)
        for bound, points in c.thresholds:  # the highest bound reached wins
            pts = ibis.ifelse(v >= bound, float(points), pts)
    else:
        pts = ibis.literal(0.0)
        for bound, points in reversed(c.thresholds):  # the first bound not exceeded wins
            pts = ibis.ifelse(v <= bound, float(points), pts)
    return ibis.ifelse(v.isnull(), ibis.null("float64"), pts).cast("float64")


def _components_for(card: Scorecard) -> list[tuple[str | None, list[Component]]]:
    return [(None, card.components), *card.segments.items()]


def components_of(card: Scorecard, segment: str | None, onboarding: bool) -> list[Component]:
    """The components that scored an account: the onboarding ones while it onboards, else its
    segment's (or the default) list."""
    if onboarding:
        return card.onboarding
    return card.segments.get(segment, card.components) if segment is not None else card.components


def _segment_parts(card: Scorecard, f: ir.Table) -> list[tuple[ir.Table, list[Component]]]:
    """(accounts, their segment's components): each segment with a list of its own, then everyone
    else on the default list (one part when no segment has its own list)."""
    parts = []
    for segment, comps in _components_for(card):
        t = f.filter(f.segment == segment) if segment else (
            f.filter(~f.segment.isin(list(card.segments))) if card.segments else f)
        parts.append((t, comps))
    return parts


def component_count(card: Scorecard) -> int:
    """How many component columns score_table has (the longest component list)."""
    return max(len(comps) for comps in [card.onboarding, *dict(_components_for(card)).values()])


def _positions(t: ir.Table, comps: list[Component], card: Scorecard, width: int) -> dict[int, tuple]:
    """For each component position: (name, feature, value, points, weight used) of `t`'s rows on
    one component list; nulls past the end of the list. A component without data weighs 0 under
    `reweight` and keeps its weight (at 50 points) under `neutral`."""
    cols: dict[int, tuple] = {}
    for i in range(width):
        if i >= len(comps):
            cols[i] = (ibis.null("string"), ibis.null("string"), ibis.null("float64"), ibis.null("float64"),
                       ibis.null("float64"))
            continue
        c = comps[i]
        p = _points(t, c).cast("float64")
        w = ibis.literal(float(c.weight)) if card.missing == "neutral" else ibis.ifelse(p.isnull(), 0.0,
                                                                                         float(c.weight))
        cols[i] = (ibis.literal(c.name, "string"), ibis.literal(c.feature, "string"), t[c.feature].cast("float64"),
                   p, w.cast("float64"))
    return cols


def score_table(wh: Warehouse, config: Config, as_of: date, card: Scorecard | None = None,
                known_at: date | datetime | None = None) -> ir.Table:
    """Per account, in the engine: score, band, whether it is onboarding, and for each component
    position i its name, feature, value, points and weight (c{i}_*; null past the end of the
    account's own list). An onboarding account is scored on the onboarding components, chosen row
    by row in the same pass. From the facts as known at `known_at` when given (account_features).
    Built in stages (components, then the score from their columns, then the band) so the SQL
    grows with the number of components, not with their product."""
    card = card or load_scorecard(config)
    f = account_features(wh, config, as_of, known_at=known_at)
    width = component_count(card)
    fields = ("name", "feature", "value", "points", "weight")
    neutral = 50.0 if card.missing == "neutral" else 0.0
    out = None
    for t, comps in _segment_parts(card, f):
        onb = t.in_onboarding == 1
        own, onboarding = _positions(t, comps, card, width), _positions(t, card.onboarding, card, width)
        picked = {f"c{i}_{name}": ibis.ifelse(onb, onboarding[i][k], own[i][k])
                  for i in range(width) for k, name in enumerate(fields)}
        stage = t.select("account_id", "segment", "arr", onboarding=t.in_onboarding.cast("int64"), **picked)
        weights = [stage[f"c{i}_weight"].fill_null(0.0) for i in range(width)]
        weighted = sum((w * stage[f"c{i}_points"].fill_null(neutral) for i, w in enumerate(weights)),
                       ibis.literal(0.0))
        weight_sum = sum(weights, ibis.literal(0.0))
        stage = stage.mutate(weight_sum=weight_sum.cast("float64"),
                             score=ibis.ifelse(weight_sum > 0, weighted / weight_sum, ibis.null("float64"))
                             .round(1).cast("float64"))
        stage = stage.mutate(band=band_expr(stage.score, stage.onboarding, card.bands))
        part = stage.select("account_id", "segment", "arr", "score", "weight_sum", "onboarding", "band",
                            *picked)
        out = part if out is None else out.union(part)
    return out


def score_accounts(wh: Warehouse, config: Config, as_of: date, card: Scorecard | None = None,
                   known_at: date | datetime | None = None) -> list[dict]:
    """Scores as rows: account_id, segment, arr, score, band, components [{name, feature, value,
    points, weight, contribution, missing}] with contributions summing to the score."""
    card = card or load_scorecard(config)
    df = wh.execute(score_table(wh, config, as_of, card, known_at))
    rows = []
    for rec in df.to_dict(orient="records"):  # one row per account already aggregated in the engine
        onboarding = bool(rec["onboarding"])
        comps = components_of(card, rec["segment"], onboarding)
        ws = rec["weight_sum"] or 0
        detail = []
        for i, c in enumerate(comps):
            pts, w = rec.get(f"c{i}_points"), rec.get(f"c{i}_weight") or 0
            missing = pts is None or pts != pts
            used = 50.0 if (missing and card.missing == "neutral") else (0.0 if missing else pts)
            value = rec.get(f"c{i}_value")
            detail.append({"name": c.name, "feature": c.feature,
                           "value": None if value is None or value != value else value,
                           "points": None if missing else pts, "weight": w, "missing": missing,
                           "contribution": round(w * used / ws, 2) if ws else 0.0})
        score = rec["score"] if rec["score"] == rec["score"] else None
        rows.append({"account_id": rec["account_id"], "segment": rec["segment"], "arr": rec["arr"], "score": score,
                     "band": band_of(score, card.bands, onboarding), "onboarding": onboarding,
                     "components": detail})
    return sorted(rows, key=lambda r: (r["score"] is None, r["score"] or 0))
