"""Labelled texts for the text-analytics tests: the drug reviews (reference set, CC BY 4.0) and the
self-authored customer-feedback sentences."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DRUG_REVIEWS = FIXTURES / "reference" / "drug-reviews"
SAAS_FEEDBACK = FIXTURES / "voc" / "saas_feedback.csv"
ORDINAL = {"negative": -1, "neutral": 0, "positive": 1}


def review_text(raw: str) -> str:
    """A review as a person wrote it: HTML entities decoded, the published wrapping quotes removed."""
    return html.unescape(str(raw)).strip().strip('"').strip()


def drug_reviews(split: str) -> pd.DataFrame:
    """drugsComTrain / drugsComTest: columns text, label (negative/neutral/positive), y (-1/0/1), condition."""
    frame = pd.read_csv(DRUG_REVIEWS / f"drugsCom{split}.tsv", sep="\t", index_col=0)
    return pd.DataFrame(
        {
            "text": frame["review"].map(review_text),
            "label": frame["rating"],
            "y": frame["rating"].map(ORDINAL).astype(int),
            "condition": frame["condition"].fillna(""),
        }
    ).reset_index(drop=True)


def saas_feedback() -> pd.DataFrame:
    frame = pd.read_csv(SAAS_FEEDBACK)
    frame["y"] = frame["label"].map(ORDINAL).astype(int)
    return frame


def three_class(scores: np.ndarray, negative_below: float, positive_above: float) -> np.ndarray:
    return np.where(scores < negative_below, -1, np.where(scores > positive_above, 1, 0))
