"""Sentiment of free text, offline: a score in [-1, 1] and a negative / neutral / positive label.

The score blends two signals with a small linear head (three coefficients fitted once by
scripts/fit_sentiment_head.py on the drugsComTrain reviews only, shipped in sentiment_head.json,
never re-fitted at run time):
- VADER's compound score (vaderSentiment, the lexicon-and-rules baseline) averaged over the text's
  sentences (`vader_sentences`);
- the anchor polarity of the text's sentence embedding (tenure.voc.embed, all-MiniLM-L6-v2):
  P(positive) - P(negative) of a softmax over its similarity to short self-authored, domain-neutral
  positive, neutral and negative statements (sentiment_anchors.json). It carries what a lexicon
  misses ("nobody has contacted us since", "we are moving to a competitor") and pulls
  non-evaluative texts ("please send the invoice to finance") towards 0.
score = tanh(bias + sum(weight_i * feature_i)); label thresholds from the same head file.
See docs/voc.md "Sentiment and themes" for the measured F1 and correlation against VADER.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from tenure.errors import TenureError

LABELS = ("negative", "neutral", "positive")
HEAD_FILE = "sentiment_head.json"
ANCHORS_FILE = "sentiment_anchors.json"
ANCHOR_TEMPERATURE = 0.05

_lock = threading.Lock()
_vader = None


class SentimentModelError(TenureError):
    """The shipped sentiment head or anchors cannot be read."""


def _read_json(name: str) -> dict:
    try:
        return json.loads(resources.files("tenure.voc").joinpath(name).read_text())
    except (OSError, ValueError) as err:
        raise SentimentModelError(
            f"tenure/voc/{name}: cannot read the shipped sentiment model file ({err}); reinstall tenure "
            f"or re-create it with scripts/fit_sentiment_head.py"
        ) from err


@lru_cache(maxsize=1)
def head() -> dict:
    """The fitted head: features, weights, bias, thresholds and how it was fitted."""
    data = _read_json(HEAD_FILE)
    for key in ("features", "weights", "bias", "thresholds"):
        if key not in data:
            raise SentimentModelError(
                f"tenure/voc/{HEAD_FILE}: field {key!r} is missing; re-create the file with "
                f"scripts/fit_sentiment_head.py"
            )
    return data


@lru_cache(maxsize=1)
def anchors() -> dict[str, list[str]]:
    """The anchor statements: {"positive": [...], "negative": [...]}."""
    data = _read_json(ANCHORS_FILE)
    for key in ("positive", "neutral", "negative"):
        if not data.get(key):
            raise SentimentModelError(f"tenure/voc/{ANCHORS_FILE}: field {key!r} is missing or empty")
    return data


@lru_cache(maxsize=1)
def _anchor_vectors() -> dict[str, np.ndarray]:
    from tenure.voc.embed import embed

    a = anchors()
    return {k: embed(a[k]) for k in ("positive", "neutral", "negative") if a.get(k)}


def _analyzer():
    global _vader
    with _lock:
        if _vader is None:
            try:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
            except ImportError as err:
                raise SentimentModelError(
                    "vaderSentiment is not installed: run `pip install vaderSentiment` "
                    "(see constraints.txt for the tested version)"
                ) from err
            _vader = SentimentIntensityAnalyzer()
    return _vader


def _clean(texts: Sequence[str]) -> list[str]:
    return ["" if t is None or (isinstance(t, float) and np.isnan(t)) else " ".join(str(t).split()) for t in texts]


def vader(texts: Sequence[str]) -> np.ndarray:
    """VADER's compound score of each text, in [-1, 1] (0 for an empty text)."""
    analyzer = _analyzer()
    scores = analyzer.polarity_scores
    return np.array([scores(t)["compound"] if t else 0.0 for t in _clean(texts)], dtype=np.float64)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def vader_sentences(texts: Sequence[str]) -> np.ndarray:
    """Mean of VADER's compound over each text's sentences (the compound of a whole long text
    saturates towards +-1 as words add up; a story of side effects that ends well is not negative)."""
    analyzer = _analyzer()
    scores = analyzer.polarity_scores
    out = np.zeros(len(texts), dtype=np.float64)
    for i, t in enumerate(_clean(texts)):
        if t:
            parts = [p for p in _SENTENCE_END.split(t) if p.strip()]
            out[i] = sum(scores(p)["compound"] for p in parts) / len(parts)
    return out


def anchor_similarity(vectors: np.ndarray, *, top: int = 3) -> np.ndarray:
    """Mean cosine to the `top` nearest positive anchors minus that to the nearest negative ones."""
    a = _anchor_vectors()
    sp = np.sort(vectors @ a["positive"].T, axis=1)[:, -top:].mean(axis=1)
    sn = np.sort(vectors @ a["negative"].T, axis=1)[:, -top:].mean(axis=1)
    return (sp - sn).astype(np.float64)


def anchor_polarity(vectors: np.ndarray, *, top: int = 3, temperature: float = ANCHOR_TEMPERATURE) -> np.ndarray:
    """P(positive) - P(negative) of a softmax over the mean cosine to the `top` nearest positive,
    neutral and negative anchors: near 0 for a text closest to the neutral (non-evaluative) ones."""
    a = _anchor_vectors()
    sims = np.column_stack(
        [np.sort(vectors @ a[k].T, axis=1)[:, -top:].mean(axis=1) for k in ("positive", "neutral", "negative")]
    ).astype(np.float64)
    z = (sims - sims.max(axis=1, keepdims=True)) / temperature
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return p[:, 0] - p[:, 2]


FEATURES = ("vader", "vader_sentences", "anchor", "anchor_polarity")


def features(
    texts: Sequence[str], *, vectors: np.ndarray | None = None, names: Sequence[str] = FEATURES
) -> dict[str, np.ndarray]:
    """The head's input features of each text (name -> array), for fitting and for scoring."""
    from tenure.voc.embed import embed

    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise SentimentModelError(
            f"tenure/voc/{HEAD_FILE}: unknown feature(s) {', '.join(map(repr, unknown))}; known: {', '.join(FEATURES)}"
        )
    cleaned = _clean(texts)
    if vectors is None and any(n.startswith("anchor") for n in names):
        vectors = embed(cleaned)
    compute = {
        "vader": lambda: vader(cleaned),
        "vader_sentences": lambda: vader_sentences(cleaned),
        "anchor": lambda: anchor_similarity(vectors),
        "anchor_polarity": lambda: anchor_polarity(vectors),
    }
    return {n: compute[n]() for n in names}


def score(texts: Sequence[str], *, vectors: np.ndarray | None = None) -> np.ndarray:
    """Sentiment of each text in [-1, 1] (negative to positive); 0 for an empty text.

    vectors: embeddings already computed with tenure.voc.embed.embed (skips embedding)."""
    cleaned = _clean(texts)
    if not cleaned:
        return np.zeros(0, dtype=np.float64)
    h = head()
    f = features(cleaned, vectors=vectors, names=h["features"])
    z = np.full(len(cleaned), float(h["bias"]))
    for name, w in zip(h["features"], h["weights"]):
        z += float(w) * f[name]
    s = np.tanh(z)
    s[np.array([not t for t in cleaned])] = 0.0
    return s


def thresholds() -> tuple[float, float]:
    """(negative_below, positive_above): a score below the first is negative, above the second positive."""
    t = head()["thresholds"]
    return float(t["negative_below"]), float(t["positive_above"])


def label(scores) -> np.ndarray:
    """negative / neutral / positive for each score (object array of str), by the head's thresholds."""
    s = np.asarray(scores, dtype=np.float64)
    lo, hi = thresholds()
    return np.where(s < lo, "negative", np.where(s > hi, "positive", "neutral")).astype(object)
