"""tenure.voc.embed: offline sentence embeddings (all-MiniLM-L6-v2 shipped in a PyPI package)."""

from __future__ import annotations

import numpy as np

from tenure.voc import embed as embed_mod
from tenure.voc.embed import DIMENSIONS, embed


def test_unit_float32_rows_and_zero_row_for_empty_text():
    v = embed(["The invoice is wrong again.", "", "Love the new dashboard."])
    assert v.dtype == np.float32 and v.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(v[[0, 2]], axis=1), 1, atol=1e-5)
    assert not v[1].any()


def test_similar_meaning_is_closer_than_unrelated_text():
    a, b, c = embed(["The invoice is wrong.", "We were billed the wrong amount.", "Onboarding training was fun."])
    assert a @ b > a @ c


def test_order_and_duplicates_do_not_change_a_text_vector():
    texts = ["Support never answered.", "Exports work.", "Support never answered."]
    embed_mod.clear_cache()
    v = embed(texts, cache=False)
    w = embed(texts[::-1], cache=False)
    assert np.allclose(v[0], v[2]) and np.allclose(v, w[::-1], atol=1e-5)


def test_cache_returns_the_same_vectors():
    texts = ["Renewal pricing is too high.", "Great support team."]
    first = embed(texts)
    assert all(embed_mod._key(t) in embed_mod._cache for t in texts)
    assert np.array_equal(first, embed(texts))
