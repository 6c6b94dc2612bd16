"""Fit the sentiment head shipped in src/tenure/voc/sentiment_head.json (run by hand, not at run time).

    .venv/bin/python scripts/fit_sentiment_head.py [--check]

Data: drugsComTrain only (tests/fixtures/reference/drug-reviews/, 600 reviews, CC BY 4.0); the test
split is never read here. Features: those of tenure.voc.sentiment.features (VADER compound, anchor
polarity). Model: score = tanh(bias + w . features), fitted by class-balanced least squares against
-1 / 0 / +1 with a small L2 penalty (L-BFGS from zeros: deterministic). Thresholds: -t and +t, the t
(a multiple of 0.05) that maximises 3-class macro F1 on 5-fold out-of-fold scores (folds seeded).
Symmetric on purpose: the free optimum on the drug reviews sits at (-0.15, -0.05), that set's own
neutral band (mediocre ratings of a treatment), and loses F1 on differently-worded feedback.
--check recomputes and fails if the shipped file differs (the fit is reproducible).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

HEAD = ROOT / "src" / "tenure" / "voc" / "sentiment_head.json"
FEATURES = ["vader_sentences", "anchor_polarity"]
L2 = 1e-3
SEED = 0
FOLDS = 5
GRID = np.round(np.arange(-0.9, 0.951, 0.05), 2)


def fit_tanh(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """[bias, w...] minimising class-balanced squared error of tanh(bias + x @ w) against y."""
    from scipy.optimize import minimize

    classes, counts = np.unique(y, return_counts=True)
    weight_of = {c: len(y) / (len(classes) * n) for c, n in zip(classes, counts)}
    w = np.array([weight_of[c] for c in y])

    def loss(p):
        r = np.tanh(p[0] + x @ p[1:]) - y
        return float((w * r * r).sum() / w.sum() + L2 * (p[1:] ** 2).sum())

    return minimize(loss, np.zeros(x.shape[1] + 1), method="L-BFGS-B").x


def best_thresholds(scores: np.ndarray, y: np.ndarray, symmetric: bool = True) -> tuple[float, float, float]:
    """(macro F1, negative_below, positive_above). symmetric: -t and +t around the neutral 0 (the
    drug reviews' labels skew the free optimum towards that set's own neutral band)."""
    from sklearn.metrics import f1_score

    best = (-1.0, 0.0, 0.0)
    pairs = [(-t, t) for t in GRID[GRID >= 0]] if symmetric else [(lo, hi) for lo in GRID for hi in GRID[GRID >= lo]]
    for lo, hi in pairs:
        pred = np.where(scores < lo, -1, np.where(scores > hi, 1, 0))
        f = f1_score(y, pred, average="macro")
        if f > best[0] + 1e-12:
            best = (float(f), float(lo), float(hi))
    return best


def fit(vectors: np.ndarray | None = None) -> dict:
    from sklearn.model_selection import StratifiedKFold

    from tenure.voc.sentiment import features
    from tests.voc.text_data import drug_reviews

    train = drug_reviews("Train")
    f = features(train["text"].tolist(), vectors=vectors)
    x = np.column_stack([f[name] for name in FEATURES])
    y = train["y"].to_numpy()
    oof = np.zeros(len(y))
    for fit_idx, held_idx in StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(x, y):
        p = fit_tanh(x[fit_idx], y[fit_idx])
        oof[held_idx] = np.tanh(p[0] + x[held_idx] @ p[1:])
    f1, lo, hi = best_thresholds(oof, y)
    p = fit_tanh(x, y)
    return {
        "features": FEATURES,
        "weights": [round(float(v), 4) for v in p[1:]],
        "bias": round(float(p[0]), 4),
        "thresholds": {"negative_below": lo, "positive_above": hi},
        "fitted": {
            "script": "scripts/fit_sentiment_head.py",
            "data": "drugsComTrain (600 reviews; the test split is never used)",
            "model": "tanh(bias + w . features), class-balanced least squares, L2 %g" % L2,
            "thresholds": "-t/+t maximising 3-class macro F1 on %d-fold out-of-fold scores (seed %d)" % (FOLDS, SEED),
            "out_of_fold_macro_f1": round(f1, 3),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail if the shipped head differs from a refit")
    parser.add_argument("--vectors", type=Path, help="an .npy of drugsComTrain's embeddings (tenure.voc.embed.embed), "
                        "to skip embedding; same result")
    args = parser.parse_args()
    head = fit(np.load(args.vectors) if args.vectors else None)
    text = json.dumps(head, indent=2) + "\n"
    if args.check:
        shipped = json.loads(HEAD.read_text())
        same = shipped["features"] == head["features"] and shipped["thresholds"] == head["thresholds"] and all(
            abs(a - b) < 1e-3 for a, b in zip(shipped["weights"] + [shipped["bias"]], head["weights"] + [head["bias"]])
        )
        print("shipped head matches the refit" if same else f"shipped head differs from the refit:\n{text}")
        return 0 if same else 1
    HEAD.write_text(text)
    print(f"wrote {HEAD.relative_to(ROOT)}:\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
