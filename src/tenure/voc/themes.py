"""Automatic themes: sentence embeddings clustered with k-means, labelled by their keywords.

How a theme is made:
1. every text is embedded (tenure.voc.embed: all-MiniLM-L6-v2, unit vectors, offline);
2. k-means (scikit-learn, fixed seed) groups the vectors. Unless `k` is given, k is the one with
   the best silhouette (cosine) among K_MIN..K_MAX candidates, measured on a fixed sample of at
   most SAMPLE texts; K_MAX shrinks for small inputs (about one theme per 15 texts);
3. each theme is labelled with its top class-based TF-IDF terms (c-TF-IDF: a term's frequency in
   the theme's texts times log(1 + mean words per theme / the term's frequency across themes)),
   so the label reads like "billing / invoice / charged";
4. themes are numbered by size (0 is the largest; ties by label), so the same texts give the same
   themes, numbers and labels on every run.
Texts that are empty get theme -1, "no text".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tenure.errors import InputError

K_MIN = 3
K_MAX = 20
TEXTS_PER_THEME = 15
SAMPLE = 4000
SEED = 0
TOP_TERMS = 3
NO_TEXT = (-1, "no text")

# Words that say nothing about a theme in customer feedback (on top of scikit-learn's English list).
EXTRA_STOP_WORDS = frozenset(
    """
    just like really im ive dont didnt doesnt cant wont got get getting gets use used using
    thing things lot lots way also still even much many would could should one two first time
    day days week weeks month months year years ago since now back make made know think thank
    thanks please able well good great bad yes okay ok
    """.split()
)


def choose_k(vectors: np.ndarray, *, k_min: int = K_MIN, k_max: int | None = None, seed: int = SEED) -> int:
    """The number of themes: best cosine silhouette of k-means over k_min..k_max on a fixed sample."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    if k_max is None:
        k_max = K_MAX
    k_max = max(1, min(k_max, n // TEXTS_PER_THEME, n - 1))
    if k_max < 2:
        return 1
    k_min = max(2, min(k_min, k_max))
    rng = np.random.default_rng(seed)
    sample = vectors if n <= SAMPLE else vectors[np.sort(rng.choice(n, SAMPLE, replace=False))]
    best_k, best_s = k_min, -np.inf
    for k in range(k_min, k_max + 1):
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(sample)
        if len(np.unique(labels)) < 2:
            continue
        s = silhouette_score(sample, labels, metric="cosine")
        if s > best_s + 1e-9:
            best_k, best_s = k, s
    return best_k


def keywords(texts: Sequence[str], clusters: Sequence[int], *, top: int = TOP_TERMS) -> dict[int, list[str]]:
    """Top c-TF-IDF terms of each cluster (clusters < 0 are ignored): {cluster: [term, ...]}."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    clusters = np.asarray(clusters)
    ids = sorted(int(c) for c in np.unique(clusters) if c >= 0)
    if not ids:
        return {}
    docs = [" ".join(str(t) for t, c in zip(texts, clusters) if c == cid) for cid in ids]
    vectorizer = CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS),
        token_pattern=r"(?u)\b[^\W\d_][^\W\d_]{2,}\b",
        lowercase=True,
    )
    try:
        counts = vectorizer.fit_transform(docs).astype(np.float64).toarray()
    except ValueError:  # only stop words
        return {cid: [] for cid in ids}
    terms = vectorizer.get_feature_names_out()
    words_per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.maximum(words_per_class, 1.0)
    mean_words = counts.sum() / len(ids)
    idf = np.log1p(mean_words / np.maximum(counts.sum(axis=0), 1.0))
    ctfidf = tf * idf
    out = {}
    for row, cid in enumerate(ids):
        scores = ctfidf[row]
        # stable order: score descending, then the term alphabetically
        order = np.lexsort((terms, -scores))
        out[cid] = [str(terms[j]) for j in order[:top] if scores[j] > 0]
    return out


def cluster(vectors: np.ndarray, *, k: int | None = None, seed: int = SEED) -> np.ndarray:
    """k-means cluster of each row (0..k-1, arbitrary numbering); k chosen by choose_k if None."""
    from sklearn.cluster import KMeans

    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if k is None:
        k = choose_k(vectors, seed=seed)
    k = max(1, min(int(k), n))
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors).astype(np.int64)


def themes(
    texts: Sequence[str],
    ids: Sequence | None = None,
    *,
    k: int | None = None,
    seed: int = SEED,
    vectors: np.ndarray | None = None,
) -> pd.DataFrame:
    """Theme of each text: DataFrame[id, theme_id, theme_label], one row per text, input order.

    ids default to 0..n-1. k: the number of themes (default: chosen by silhouette, see the module
    docstring). vectors: embeddings already computed with tenure.voc.embed.embed (skips embedding).
    theme_id 0 is the largest theme; the same texts give the same result on every run."""
    from tenure.voc.embed import embed

    texts = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]
    n = len(texts)
    if ids is None:
        ids = list(range(n))
    elif len(ids) != n:
        raise InputError(f"themes: {len(ids)} ids for {n} texts; pass one id per text")
    if k is not None and k < 1:
        raise InputError(f"themes: k={k}; pass a number of themes of at least 1, or none to choose it")
    present = np.array([bool(t.strip()) for t in texts], dtype=bool)
    theme_id = np.full(n, NO_TEXT[0], dtype=np.int64)
    label_of: dict[int, str] = {NO_TEXT[0]: NO_TEXT[1]}
    if present.any():
        idx = np.flatnonzero(present)
        if vectors is None:
            vecs = embed([texts[i] for i in idx])
        else:
            if len(vectors) != n:
                raise InputError(f"themes: {len(vectors)} vectors for {n} texts; pass one vector per text")
            vecs = np.asarray(vectors, dtype=np.float32)[idx]
        raw = cluster(vecs, k=k, seed=seed)
        present_texts = [texts[i] for i in idx]
        words = keywords(present_texts, raw)
        labels = {c: (" / ".join(w) if w else f"theme {c}") for c, w in words.items()}
        sizes = np.bincount(raw)
        order = sorted(labels, key=lambda c: (-sizes[c], labels[c], c))
        renumber = {c: new for new, c in enumerate(order)}
        theme_id[idx] = np.array([renumber[c] for c in raw], dtype=np.int64)
        seen: dict[str, int] = {}
        for c in order:  # two themes with the same keywords stay distinguishable
            lab = labels[c]
            seen[lab] = seen.get(lab, 0) + 1
            label_of[renumber[c]] = lab if seen[lab] == 1 else f"{lab} ({seen[lab]})"
    return pd.DataFrame(
        {
            "id": list(ids),
            "theme_id": theme_id,
            "theme_label": [label_of[t] for t in theme_id],
        }
    )
