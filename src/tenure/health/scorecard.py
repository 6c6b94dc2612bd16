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


class Scorecard(_Strict):
    components: list[Component]
    missing: Literal["reweight", "neutral"] = "reweight"
    bands: Bands = Field(default_factory=Bands)
    segments: dict[str, list[Component]] = Field(default_factory=dict,
                                                 description="per-segment component lists replacing the default")


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
    extra = set(config.health or {}) - {"scorecard", "signals"}
    if extra:
        raise ConfigError(f"health: unknown key(s) {', '.join(sorted(extra))} (expected: scorecard, signals)")
    try:
        return Scorecard.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, "health.scorecard")) from None


def band_of(score: float | None, bands: Bands) -> str | None:
    if score is None:
        return None
    return "red" if score <= bands.red else "yellow" if score <= bands.yellow else "green"


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


def score_table(wh: Warehouse, config: Config, as_of: date, card: Scorecard | None = None,
                known_at: date | datetime | None = None) -> ir.Table:
    """Per account: score, band and each component's value, points and contribution, in the engine
    (from the facts as known at `known_at` when given; see account_features)."""
    card = card or load_scorecard(config)
    f = account_features(wh, config, as_of, known_at=known_at)
    parts = []
    for segment, comps in _components_for(card):
        t = f.filter(f.segment == segment) if segment else (
            f.filter(~f.segment.isin(list(card.segments))) if card.segments else f)
        cols: dict[str, Any] = {}
        weight_sum = ibis.literal(0.0)
        weighted = ibis.literal(0.0)
        for i, c in enumerate(comps):
            p = _points(t, c)
            if card.missing == "neutral":
                p_eff = p.fill_null(50.0)
                w = ibis.literal(float(c.weight))
            else:
                p_eff = p.fill_null(0.0)
                w = ibis.ifelse(p.isnull(), 0.0, float(c.weight))
            weighted = weighted + w * p_eff
            weight_sum = weight_sum + w
            cols[f"c{i}_value"] = t[c.feature].cast("float64")
            cols[f"c{i}_points"] = p
            cols[f"c{i}_weight"] = w.cast("float64")
        score = ibis.ifelse(weight_sum > 0, weighted / weight_sum, ibis.null("float64"))
        parts.append(t.select("account_id", "segment", "arr", score=score.round(1).cast("float64"), weight_sum=weight_sum.cast("float64"), **cols))
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def score_accounts(wh: Warehouse, config: Config, as_of: date, card: Scorecard | None = None,
                   known_at: date | datetime | None = None) -> list[dict]:
    """Scores as rows: account_id, segment, arr, score, band, components [{name, feature, value,
    points, weight, contribution, missing}] with contributions summing to the score."""
    card = card or load_scorecard(config)
    df = wh.execute(score_table(wh, config, as_of, card, known_at))
    comps_by_segment = dict(_components_for(card))
    rows = []
    for rec in df.to_dict(orient="records"):  # one row per account already aggregated in the engine
        comps = comps_by_segment.get(rec["segment"], card.components)
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
                     "band": band_of(score, card.bands), "components": detail})
    return sorted(rows, key=lambda r: (r["score"] is None, r["score"] or 0))
