"""tenure.voc.sentiment: offline sentiment, measured against VADER in the same run.

The drug reviews (tests/fixtures/reference/drug-reviews, CC BY 4.0) are the reference set: the
head was fitted on drugsComTrain only, so drugsComTest is held out. The self-authored SaaS feedback
sentences (tests/fixtures/voc) check the gain on differently-worded text."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import f1_score

from tenure.voc import sentiment
from tests.voc.text_data import drug_reviews, saas_feedback, three_class

VADER_THRESHOLDS = (-0.05, 0.05)  # VADER's own documented neutral band for the compound score


def figures(frame) -> dict[str, float]:
    texts = frame["text"].tolist()
    model = sentiment.score(texts)
    vader = sentiment.vader(texts)
    lo, hi = sentiment.thresholds()
    y = frame["y"].to_numpy()
    return {
        "model_f1": f1_score(y, three_class(model, lo, hi), average="macro"),
        "vader_f1": f1_score(y, three_class(vader, *VADER_THRESHOLDS), average="macro"),
        "model_rho": spearmanr(model, y).statistic,
        "vader_rho": spearmanr(vader, y).statistic,
    }


@pytest.fixture(scope="module")
def drug_test_figures():
    return figures(drug_reviews("Test"))


def test_beats_vader_on_held_out_drug_reviews(drug_test_figures):
    f = drug_test_figures
    assert f["model_f1"] >= f["vader_f1"] + 0.02, f
    assert f["model_rho"] >= f["vader_rho"] + 0.05, f


def test_beats_vader_on_self_authored_customer_feedback():
    f = figures(saas_feedback())
    assert f["model_f1"] > f["vader_f1"], f
    assert f["model_rho"] > f["vader_rho"], f


def test_scores_in_range_and_empty_text_is_neutral():
    s = sentiment.score(["", None, "Support fixed it in ten minutes, thank you!", "The app crashed and we lost our work."])
    assert s.shape == (4,) and np.all(np.abs(s) <= 1)
    assert s[0] == 0 and s[1] == 0
    assert s[2] > 0 > s[3]
    assert list(sentiment.label(s)) == ["neutral", "neutral", "positive", "negative"]


def test_label_uses_the_shipped_thresholds():
    lo, hi = sentiment.thresholds()
    assert -1 < lo <= hi < 1
    got = sentiment.label([-1.0, lo - 1e-6, lo, (lo + hi) / 2, hi, hi + 1e-6, 1.0])
    assert list(got) == ["negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"]


def test_precomputed_vectors_give_the_same_scores():
    from tenure.voc.embed import embed

    texts = ["Billing charged us twice.", "Great onboarding.", "Please send the invoice."]
    assert np.allclose(sentiment.score(texts), sentiment.score(texts, vectors=embed(texts)))


@pytest.mark.slow
def test_shipped_head_is_what_the_fit_script_produces():
    """scripts/fit_sentiment_head.py is deterministic and was run on the shipped data."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "fit_sentiment_head.py"
    spec = importlib.util.spec_from_file_location("fit_sentiment_head", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    refit = module.fit()
    shipped = sentiment.head()
    assert refit["features"] == shipped["features"]
    assert refit["thresholds"] == shipped["thresholds"]
    assert np.allclose(refit["weights"] + [refit["bias"]], shipped["weights"] + [shipped["bias"]], atol=2e-3)
