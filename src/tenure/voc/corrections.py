"""Sentiment corrections that stick, and how often people agree with the model.

A person sets a text's sentiment (label, and optionally a score in [-1, 1]); it is kept in the
state DB (voc_sentiment_corrections, migration 0013) by the text's stable id (tenure.voc.corpus),
audited (entity "sentiment_correction"), and `effective` applies it wherever sentiment is read:
the model's score and label unless a person corrected them. A correction that confirms the model
is kept too: it counts as agreement.

A label without a score keeps the model's score when the model's label is the same, else takes the
label's score (LABEL_SCORE). A score without a label takes the label of that score (the model's
own thresholds, tenure.voc.sentiment.label).

Agreement (`agreement`): over the corrected texts, the share where the person's label is the
model's (observed agreement p_o), Cohen's kappa, which discounts the agreement expected by chance
from each side's label shares (p_e = sum over classes of the product of the two shares):
kappa = (p_o - p_e) / (1 - p_e) (Cohen 1960, "A coefficient of agreement for nominal scales"),
and the confusion counts by class (rows: model, columns: person).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.errors import InputError
from tenure.state.audit import record
from tenure.state.models import SentimentCorrection, utcnow

__all__ = ["LABELS", "LABEL_SCORE", "Agreement", "agreement", "correct", "corrections", "effective",
           "model_sentiment", "remove"]

LABELS = ("negative", "neutral", "positive")
LABEL_SCORE = {"negative": -0.6, "neutral": 0.0, "positive": 0.6}
EFFECTIVE_COLUMNS = ["text_id", "model_score", "model_label", "score", "label", "corrected"]


def _label_of(scores: np.ndarray) -> list[str]:
    from tenure.voc import sentiment

    return [str(x) for x in sentiment.label(np.asarray(scores, dtype=float))]


def model_sentiment(texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """The model's scores in [-1, 1] and labels (tenure.voc.sentiment)."""
    from tenure.voc import sentiment

    scores = np.asarray(sentiment.score(list(texts)), dtype=float)
    return scores, _label_of(scores)


def _check(text_id: str, label: str | None, score: float | None) -> None:
    from tenure.voc.corpus import source_of

    source_of(text_id)
    if label is None and score is None:
        raise InputError(f"correction of {text_id}: give --label ({', '.join(LABELS)}) and/or --score (-1 to 1)")
    if label is not None and label not in LABELS:
        raise InputError(f"correction of {text_id}: label {label!r} is not one of {', '.join(LABELS)}")
    if score is not None and (not math.isfinite(score) or not -1 <= score <= 1):
        raise InputError(f"correction of {text_id}: score {score} is outside -1 to 1")


def _as_dict(c: SentimentCorrection) -> dict:
    return {"text_id": c.text_id, "label": c.label, "score": c.score, "model_label": c.model_label,
            "model_score": c.model_score, "note": c.note}


def correct(session: Session, text_id: str, *, label: str | None = None, score: float | None = None,
            model_score: float | None = None, model_label: str | None = None, note: str | None = None,
            actor: str) -> SentimentCorrection:
    """Set (or replace) a person's sentiment for one text. `model_score`/`model_label`: what the model
    said (kept for the agreement report; the label is derived from the score when not given)."""
    text_id = str(text_id).strip()
    _check(text_id, label, score)
    if model_label is None and model_score is not None:
        model_label = _label_of(np.array([model_score]))[0]
    if label is None:
        label = _label_of(np.array([score]))[0]
    row = session.scalar(select(SentimentCorrection).where(SentimentCorrection.text_id == text_id))
    before = _as_dict(row) if row is not None else None
    if row is None:
        row = SentimentCorrection(text_id=text_id, label=label, actor=actor)
        session.add(row)
    row.label, row.score, row.note, row.actor, row.at = label, score, note, actor, utcnow()
    if model_label is not None or model_score is not None:
        row.model_label, row.model_score = model_label, model_score
    session.flush()
    record(session, actor, "update" if before else "create", "sentiment_correction", text_id[:100], before,
           _as_dict(row))
    return row


def remove(session: Session, text_id: str, *, actor: str) -> bool:
    """Forget a person's correction (the model's sentiment applies again); False when there was none."""
    row = session.scalar(select(SentimentCorrection).where(SentimentCorrection.text_id == text_id))
    if row is None:
        return False
    record(session, actor, "delete", "sentiment_correction", text_id[:100], _as_dict(row), None)
    session.delete(row)
    session.flush()
    return True


def corrections(session: Session, text_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """DataFrame[text_id, label, score, model_label, model_score, note, actor, at]."""
    cols = ["text_id", "label", "score", "model_label", "model_score", "note", "actor", "at"]
    q = select(*(getattr(SentimentCorrection, c) for c in cols))
    if text_ids is not None:
        q = q.where(SentimentCorrection.text_id.in_([str(i) for i in text_ids]))
    return pd.DataFrame(session.execute(q.order_by(SentimentCorrection.text_id)).all(), columns=cols)


def effective(session: Session, texts: pd.DataFrame, *, model_scores: Sequence[float] | None = None) -> pd.DataFrame:
    """The sentiment to show for each of `texts` (text_id, text): DataFrame[text_id, model_score,
    model_label, score, label, corrected], the model's unless a person corrected it. Pass
    `model_scores` (aligned with `texts`) when they are already computed."""
    ids = texts["text_id"].astype(str).to_numpy()
    if model_scores is None:
        scores, labels = model_sentiment(texts["text"].fillna("").astype(str).tolist()) if len(ids) else (
            np.zeros(0), [])
    else:
        scores = np.asarray(model_scores, dtype=float)
        labels = _label_of(scores) if len(scores) else []
    out = pd.DataFrame({"text_id": ids, "model_score": scores, "model_label": labels})
    fixes = corrections(session, list(ids)) if len(ids) <= 5000 else corrections(session)
    fixes = fixes[["text_id", "label", "score"]].rename(columns={"label": "c_label", "score": "c_score"})
    out = out.merge(fixes, on="text_id", how="left")
    corrected = out["c_label"].notna()
    same = out["c_label"] == out["model_label"]
    label_score = out["c_label"].map(LABEL_SCORE)
    person_score = out["c_score"].where(out["c_score"].notna(), out["model_score"].where(same, label_score))
    out["score"] = person_score.where(corrected, out["model_score"]).astype(float)
    out["label"] = out["c_label"].where(corrected, out["model_label"])
    out["corrected"] = corrected
    return out[EFFECTIVE_COLUMNS]


@dataclass
class Agreement:
    """Model against people on the corrected texts."""

    n: int
    agreeing: int
    share: float | None  # observed agreement p_o
    kappa: float | None  # Cohen's kappa (None when undefined: no texts, or chance agreement is 1)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # model label -> person label -> n
    by_class: list[dict] = field(default_factory=list)  # per label: model n, person n, agreeing, recall

    def as_dict(self) -> dict:
        return {"n": self.n, "agreeing": self.agreeing, "share": self.share, "kappa": self.kappa,
                "confusion": self.confusion, "by_class": self.by_class}


def agreement(session: Session, *, current: pd.DataFrame | None = None) -> Agreement:
    """Agreement between the model and people over every correction that knows the model's label.
    `current` (text_id, model_label), when given, replaces the labels stored with the corrections
    (to measure today's model against the people's labels)."""
    df = corrections(session)[["text_id", "label", "model_label"]]
    if current is not None and len(df):
        now = current[["text_id", "model_label"]].rename(columns={"model_label": "now"})
        df = df.merge(now, on="text_id", how="left")
        df["model_label"] = df["now"].where(df["now"].notna(), df["model_label"])
    df = df[df["model_label"].isin(LABELS) & df["label"].isin(LABELS)]
    n = len(df)
    index = {lab: i for i, lab in enumerate(LABELS)}
    counts = np.zeros((len(LABELS), len(LABELS)))
    np.add.at(counts, (df["model_label"].map(index).to_numpy(dtype=int), df["label"].map(index).to_numpy(dtype=int)), 1)
    agreeing = int(np.trace(counts))
    share = agreeing / n if n else None
    kappa = None
    if n:
        pe = float((counts.sum(axis=1) * counts.sum(axis=0)).sum()) / (n * n)
        kappa = None if pe >= 1 else (share - pe) / (1 - pe)
    confusion = {m: {p: int(counts[i, j]) for j, p in enumerate(LABELS)} for i, m in enumerate(LABELS)}
    by_class = []
    for i, lab in enumerate(LABELS):
        person_n = int(counts[:, i].sum())
        by_class.append({"label": lab, "model": int(counts[i, :].sum()), "person": person_n,
                         "agreeing": int(counts[i, i]),
                         "recall": (counts[i, i] / person_n) if person_n else None})
    return Agreement(n=n, agreeing=agreeing, share=share, kappa=kappa, confusion=confusion, by_class=by_class)
