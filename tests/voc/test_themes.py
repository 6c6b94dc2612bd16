"""tenure.voc.themes: embeddings + k-means, keyword labels, stable across runs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_mutual_info_score

from tenure.errors import InputError
from tenure.voc import embed as embed_mod
from tenure.voc.themes import keywords, themes
from tests.voc.text_data import drug_reviews, saas_feedback


def test_same_texts_give_the_same_themes_on_every_run():
    texts = saas_feedback()["text"].tolist()
    embed_mod.clear_cache()
    first = themes(texts, ids=[f"c{i}" for i in range(len(texts))])
    embed_mod.clear_cache()  # embeddings computed again, not reused
    second = themes(texts, ids=[f"c{i}" for i in range(len(texts))])
    assert list(first.columns) == ["id", "theme_id", "theme_label"]
    assert first.equals(second)
    sizes = first["theme_id"].value_counts().sort_index()
    assert sizes.index[0] == 0 and sizes.is_monotonic_decreasing  # 0 is the largest theme


def test_themes_follow_the_condition_of_drug_reviews_better_than_chance():
    reviews = drug_reviews("Test")
    result = themes(reviews["text"].tolist())
    ami = adjusted_mutual_info_score(reviews["condition"], result["theme_id"])
    rng = np.random.default_rng(0)
    shuffled = [adjusted_mutual_info_score(reviews["condition"], rng.permutation(result["theme_id"].to_numpy()))
                for _ in range(30)]
    assert ami > 0.05 and ami > 3 * max(shuffled), (ami, max(shuffled))
    labels = result.drop_duplicates("theme_id").set_index("theme_id")["theme_label"]
    assert any("acne" in lab or "skin" in lab for lab in labels), labels.tolist()  # a readable keyword label


def test_labels_are_top_class_tf_idf_terms():
    texts = ["invoice billing charged twice", "billing invoice wrong", "slow dashboard loading", "dashboard slow reports"]
    words = keywords(texts, [0, 0, 1, 1], top=2)
    assert set(words[0]) == {"invoice", "billing"} and set(words[1]) == {"slow", "dashboard"}


def test_empty_texts_get_no_theme_and_k_is_respected():
    texts = ["Billing charged us twice.", "", "The invoice is wrong.", "Dashboard is slow.", None, "Reports load slowly."]
    result = themes(texts, k=2)
    assert result.loc[[1, 4], "theme_id"].tolist() == [-1, -1]
    assert set(result.loc[[1, 4], "theme_label"]) == {"no text"}
    assert set(result["theme_id"]) - {-1} == {0, 1}


def test_bad_arguments_name_what_to_pass():
    with pytest.raises(InputError, match="ids"):
        themes(["a", "b"], ids=[1])
    with pytest.raises(InputError, match="k=0"):
        themes(["a"], k=0)
