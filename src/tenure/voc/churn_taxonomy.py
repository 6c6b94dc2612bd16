"""Churn reasons classified into the taxonomy of tenure.yaml (`churn_taxonomy`, config.ChurnTaxonomy).

What is classified (`churn_texts`):
- every `churn_reasons` row (its category as recorded, and its detail);
- churn comments: survey comments (and custom-survey text answers) whose touchpoint is one of
  `comment_touchpoints` (exit, churn, ...), or written by an account within
  `comment_days_before_churn` days of one of its churn dates (either side: exit surveys come after).

How a text is classified (`classify`), in order:
1. recorded: a churn_reasons row whose recorded category is a taxonomy category (after lower-casing
   and "_" for spaces) keeps it, confidence 1;
2. keyword: the category with the most keyword hits (whole words, case-insensitive) in the text
   (a recorded category outside the taxonomy is read as text too); confidence = its share of all
   the hits (1 when only one category's keywords appear);
3. embedding: the category whose description and examples are nearest by cosine similarity of the
   sentence embeddings (tenure.voc.embed), when the best similarity is at least `min_similarity`;
   confidence = that similarity;
4. otherwise the `other` bucket, confidence 0.
Step 3 is skipped (and said so in `method`) when the embedding model is not installed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from tenure.config import ChurnTaxonomy, Config
from tenure.voc.corpus import COLUMNS, corpus_expr, uniform
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import ibis

__all__ = ["CLASS_COLUMNS", "classify", "churn_texts", "classify_churn"]

CLASS_COLUMNS = ["category", "method", "confidence"]


def _keyword_pattern(keyword: str) -> str:
    words = [re.escape(w) for w in re.findall(r"\w+", keyword.lower())]
    return r"(?<!\w)" + r"\W+".join(words) + r"(?!\w)" if words else r"(?!x)x"


def _normal(category: str | None) -> str:
    return re.sub(r"[\s\-]+", "_", str(category or "").strip().lower())


def _embed(texts: list[str]) -> np.ndarray | None:
    from tenure.voc.embed import embed_if_available

    return embed_if_available(texts)


def classify(texts: Sequence[str], taxonomy: ChurnTaxonomy, *, recorded: Sequence[str | None] | None = None,
             use_embeddings: bool = True) -> pd.DataFrame:
    """One row per text: category, method (recorded, keyword, embedding, none, or
    none-no-model when the embedding step was unavailable) and confidence in [0, 1]."""
    names = list(taxonomy.categories)
    text = pd.Series([str(t) if t is not None else "" for t in texts], dtype="object")
    n = len(text)
    category = np.full(n, taxonomy.other, dtype=object)
    method = np.full(n, "none", dtype=object)
    confidence = np.zeros(n, dtype=float)
    if n == 0:
        return pd.DataFrame({"category": category, "method": method, "confidence": confidence})
    rec = pd.Series(list(recorded) if recorded is not None else [None] * n, dtype="object").map(_normal)
    known = rec.isin(names).to_numpy()
    category[known], method[known], confidence[known] = rec[known].to_numpy(), "recorded", 1.0
    # a recorded category outside the taxonomy still says something: read it with the text
    readable = rec.str.replace("_", " ").where(~rec.isin(names) & (rec != ""), "")
    full = (readable + ". " + text).str.lower()
    hits = np.zeros((n, len(names)))
    for j, name in enumerate(names):
        for kw in taxonomy.categories[name].keywords:
            hits[:, j] += full.str.count(_keyword_pattern(kw)).to_numpy()
    total = hits.sum(axis=1)
    by_kw = ~known & (total > 0)
    best = hits.argmax(axis=1)
    category[by_kw] = np.array(names, dtype=object)[best[by_kw]]
    method[by_kw] = "keyword"
    confidence[by_kw] = hits[by_kw, best[by_kw]] / total[by_kw]
    rest = ~known & ~by_kw & (full.str.strip(" .") != "").to_numpy()
    if use_embeddings and rest.any():
        refs, owner = [], []
        for j, name in enumerate(names):
            cat = taxonomy.categories[name]
            for ref in [cat.description, *cat.examples]:
                refs.append(ref)
                owner.append(j)
        idx = np.flatnonzero(rest)
        vectors = _embed([*full.iloc[idx].tolist(), *refs])
        if vectors is None:
            method[rest] = "none-no-model"
        else:
            sims = vectors[: len(idx)] @ vectors[len(idx):].T  # unit rows: cosine
            per_cat = np.full((len(idx), len(names)), -1.0)
            for j in range(len(names)):
                cols = [k for k, o in enumerate(owner) if o == j]
                per_cat[:, j] = sims[:, cols].max(axis=1)
            top = per_cat.argmax(axis=1)
            top_sim = per_cat[np.arange(len(idx)), top]
            ok = top_sim >= taxonomy.min_similarity
            category[idx[ok]] = np.array(names, dtype=object)[top[ok]]
            method[idx[ok]] = "embedding"
            confidence[idx[ok]] = np.clip(top_sim[ok], 0, 1)
    return pd.DataFrame({"category": category, "method": method, "confidence": confidence.round(3)})


def churn_texts(wh: Warehouse, config: Config, *, since: date | None = None, until: date | None = None,
                limit: int | None = None) -> pd.DataFrame:
    """The texts to classify: corpus COLUMNS + recorded (the churn_reasons category, else empty),
    newest first, at most `limit`."""
    tax = config.churn_taxonomy
    tables = set(wh.list_tables())
    parts = []
    reasons = corpus_expr(wh, sources=["churn_reason"], since=since, until=until)
    if "churn_reasons" in tables:
        cr = wh.table("churn_reasons")
        rec = cr.select(rid=ibis.literal("churn:") + cr.account_id + ":" + cr["at"].cast("date").cast("string"),
                        recorded=cr.category)
        rows = reasons.left_join(rec, reasons.text_id == rec.rid).drop("rid")
        parts.append(rows)
        # a churn_reasons row with a category but no detail is classified by its category
        bare = cr.filter(cr.detail.isnull() | (cr.detail.strip() == ""))
        day = bare["at"].cast("date")
        bare = bare.select(text_id=ibis.literal("churn:") + bare.account_id + ":" + day.cast("string"),
                           source=ibis.literal("churn_reason"), account_id=bare.account_id,
                           contact_id=ibis.null().cast("string"), at=day.cast("timestamp"),
                           text=ibis.literal(""), recorded=bare.category)
        if since is not None:
            bare = bare.filter(bare["at"] >= ibis.literal(since).cast("timestamp"))
        if until is not None:
            bare = bare.filter(bare["at"].cast("date") <= ibis.literal(until))
        parts.append(bare)
    comments = corpus_expr(wh, sources=["survey", "survey_answer"], since=since, until=until)
    if "survey_responses" in tables or "survey_answers" in tables:
        keep = []
        if "survey_responses" in tables and tax.comment_touchpoints:
            s = wh.table("survey_responses")
            tps = [t.lower() for t in tax.comment_touchpoints]
            keep.append(s.filter(s.touchpoint.lower().isin(tps)).select(
                kid=ibis.literal("survey:") + s.response_id))
        if "churn_reasons" in tables:
            cr = wh.table("churn_reasons")
            days = tax.comment_days_before_churn
            churned = cr.select(ca=cr.account_id, cday=cr["at"].cast("date"))
            near = comments.join(churned, (comments.account_id == churned.ca)
                                 & (comments["at"].cast("date") >= churned.cday - ibis.interval(days=days))
                                 & (comments["at"].cast("date") <= churned.cday + ibis.interval(days=days)))
            keep.append(near.select(kid=near.text_id))
        if keep:
            ids = keep[0]
            for k in keep[1:]:
                ids = ids.union(k, distinct=True)
            chosen = comments.semi_join(ids, comments.text_id == ids.kid)
            parts.append(chosen.mutate(recorded=ibis.null().cast("string")))
    if not parts:
        return pd.DataFrame(columns=[*COLUMNS, "recorded"])
    parts = [uniform(p.select(*COLUMNS, "recorded")) for p in parts]
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    out = out.order_by([out["at"].desc(), out.text_id])
    if limit is not None:
        out = out.limit(limit)
    df = wh.execute(out)
    df["at"] = pd.to_datetime(df["at"])
    return df.reset_index(drop=True)


def classify_churn(wh: Warehouse, config: Config, *, since: date | None = None, until: date | None = None,
                   limit: int | None = None, use_embeddings: bool = True) -> pd.DataFrame:
    """churn_texts with category, method and confidence."""
    df = churn_texts(wh, config, since=since, until=until, limit=limit)
    cls = classify(df["text"].tolist(), config.churn_taxonomy, recorded=df["recorded"].tolist(),
                   use_embeddings=use_embeddings)
    return pd.concat([df.reset_index(drop=True), cls], axis=1)
