"""Themes, topics, feature-request groups and churn reasons ranked by the ARR behind them.

For one kind (`KINDS`), every text of the window (tenure.voc.corpus, the `window_days` up to the
as-of day, at most `corpus_limit` texts) is put in its groups:
- themes: the automatic themes (tenure.voc.themes);
- topics: the topics analysts curate (tenure.voc.topics: keywords, tags and untags, roll-up);
- requests: the feature-request groups (tenure.voc.requests);
- churn: the churn-reason taxonomy (tenure.voc.churn_taxonomy).
Then, in the engine (the text-to-group rows go over as one table and are joined there):
- n: texts in the group; accounts: distinct accounts behind them;
- arr: the sum of those accounts' ARR on the as-of day (tenure.metrics.arr.arr_on: the one ARR
  definition), reporting currency, per year; an account counts once per group however often it
  wrote;
- arr_at_risk: the sum of ARR at risk (tenure.predict.risk.arr_at_risk, the definition the cockpit
  and the executive page use) with the account's latest risk_scores probability on or before the
  as-of day;
- churned_arr (churn only): the ARR those accounts lost to churn in the window (the bridge's churn
  amount, tenure.metrics.bridge.movements), so reasons from accounts that already left weigh too;
- quotes: up to `quotes` example texts, one per account, from the accounts with the most ARR
  (newest text of each), with the account's name, so each quote links to its account.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pandas as pd

from tenure.config import Config
from tenure.errors import InputError
from tenure.metrics.arr import MONEY, arr_on
from tenure.metrics.bridge import movements
from tenure.metrics.periods import Period
from tenure.predict.risk import arr_at_risk
from tenure.voc import corpus as corpus_mod
from tenure.warehouse import Warehouse
from tenure.warehouse.asof import resolve_as_of
from tenure.warehouse.expr import _, ibis, ir

__all__ = ["KINDS", "SORTS", "assign", "ranked", "ranked_frame"]

KINDS = ("themes", "topics", "requests", "churn")
SORTS = ("arr", "arr_at_risk", "churned_arr", "accounts", "n")
WINDOW_DAYS = 365
QUOTE_CHARS = 280
ASSIGN_COLUMNS = ["text_id", "account_id", "at", "text", "key", "label", "detail"]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=ASSIGN_COLUMNS)


def assign(wh: Warehouse, session, config: Config, kind: str, *, since: date | None, until: date | None,
           corpus_limit: int | None = corpus_mod.DEFAULT_LIMIT, use_embeddings: bool = True,
           texts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each text's groups for `kind`: DataFrame[text_id, account_id, at, text, key, label, detail]
    (a text may be in several topics; in one group otherwise). `texts` replaces the corpus read."""
    if kind not in KINDS:
        raise InputError(f"--by {kind!r}: choose one of {', '.join(KINDS)}")
    if kind == "churn":
        from tenure.voc.churn_taxonomy import classify_churn

        df = classify_churn(wh, config, since=since, until=until, limit=corpus_limit, use_embeddings=use_embeddings)
        if df.empty:
            return _empty()
        tax = config.churn_taxonomy
        desc = {name: c.description for name, c in tax.categories.items()}
        label = df["category"].str.replace("_", " ").str.capitalize()
        return df.assign(key=df["category"], label=label, detail=df["category"].map(desc).fillna(
            "texts that fit no category"))[ASSIGN_COLUMNS]
    if texts is None:
        texts = corpus_mod.load(wh, session=session, since=since, until=until, limit=corpus_limit)
    if texts.empty:
        return _empty()
    if kind == "topics":
        from tenure.voc.topics import memberships, topic_tree

        m = memberships(session, texts[["text_id", "text"]])
        if m.empty:
            return _empty()
        tree = {r["name"]: r for r in topic_tree(session)}
        m = m.merge(texts, on="text_id")
        return m.assign(key=m["topic"], label=m["topic"].map({k: v["path"] for k, v in tree.items()}),
                        detail=m["topic"].map({k: v["query"] for k, v in tree.items()}))[ASSIGN_COLUMNS]
    if kind == "requests":
        from tenure.voc.requests import feature_requests

        r = feature_requests(wh, texts=texts, use_embeddings=use_embeddings)
        if r.empty:
            return _empty()
        r = r.drop(columns=[c for c in ("account_id", "at", "source") if c in r.columns]).merge(texts, on="text_id")
        # one row per (text, group): the first request of a text in a group is its detail
        r = r.drop_duplicates(["text_id", "group_id"])
        return r.assign(key=r["group_id"], label=r["group_label"], detail=r["request"])[ASSIGN_COLUMNS]
    from tenure.voc.themes import themes

    th = themes(texts["text"].tolist(), texts["text_id"].tolist())
    th = th[th["theme_id"] >= 0].rename(columns={"id": "text_id"})
    t = th.merge(texts, on="text_id")
    return t.assign(key=t["theme_id"].astype(str), label=t["theme_label"], detail="")[ASSIGN_COLUMNS]


def _risk(wh: Warehouse, day: date) -> ir.Table:
    """account_id, risk: the latest churn probability scored on or before `day`."""
    rs = wh.table("risk_scores")
    rs = rs.filter(rs.as_of <= ibis.literal(day))
    rs = rs.mutate(rk=ibis.row_number().over(group_by=rs.account_id, order_by=[rs.as_of.desc(), rs.horizon_days]))
    return rs.filter(rs.rk == 0).select(ra=_.account_id, risk=_.probability)


def ranked_frame(wh: Warehouse, config: Config, assigned: pd.DataFrame, kind: str, as_of: date, since: date,
                 *, accounts: Sequence[str] | None = None, quotes: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(groups, quotes) for assigned texts: groups[key, n, accounts, arr, arr_at_risk, churned_arr];
    quotes[key, rank, text_id, account_id, account_name, at, text], aggregated in the engine."""
    a = assigned[["text_id", "account_id", "at", "text", "key"]].copy()
    a["at"] = pd.to_datetime(a["at"])
    a["text"] = a["text"].astype(str).str.slice(0, QUOTE_CHARS)
    a = a.astype({"text_id": str, "account_id": str, "key": str})
    t = ibis.memtable(a, schema={"text_id": "string", "account_id": "string", "at": "timestamp", "text": "string",
                                 "key": "string"})
    if accounts is not None:
        t = t.filter(t.account_id.isin(list(accounts)) if accounts else ibis.literal(False))
    arr = arr_on(wh, config, as_of).select(aa=_.account_id, arr=_.arr)
    per = t.select("key", "account_id").distinct()
    per = per.left_join(arr, per.account_id == arr.aa).drop("aa")
    if "risk_scores" in wh.list_tables():
        risk = _risk(wh, as_of)
        per = per.left_join(risk, per.account_id == risk.ra).drop("ra")
    else:
        per = per.mutate(risk=ibis.null().cast("float64"))
    zero = ibis.literal(0, MONEY)
    per = per.mutate(arr=per.arr.fill_null(zero))
    per = per.mutate(at_risk=arr_at_risk(per.arr, per.risk))
    if kind == "churn":
        m = movements(wh, config, [Period(f"{since}..{as_of}", since, as_of)])
        lost = m.filter(m.churn > 0).select(la=_.account_id, lost=_.churn)
        per = per.left_join(lost, per.account_id == lost.la).drop("la")
    else:
        per = per.mutate(lost=ibis.null().cast(MONEY))
    g = per.group_by("key").aggregate(accounts=per.account_id.count(), arr=per.arr.sum().cast(MONEY),
                                      arr_at_risk=per.at_risk.sum(), churned_arr=per.lost.sum().cast(MONEY))
    n = t.group_by(gk=t.key).aggregate(n=t.text_id.nunique())
    groups = g.join(n, g.key == n.gk).drop("gk")
    # quotes: each account's newest text in the group, then the accounts with the most ARR
    q = t.mutate(rk=ibis.row_number().over(group_by=[t.key, t.account_id], order_by=[t["at"].desc(), t.text_id]))
    q = q.filter(q.rk == 0).drop("rk")
    q = q.left_join(arr, q.account_id == arr.aa).drop("aa")
    q = q.mutate(qr=ibis.row_number().over(group_by=q.key, order_by=[q.arr.fill_null(zero).desc(), q["at"].desc(),
                                                                     q.text_id]))
    q = q.filter(q.qr < quotes)
    acc = wh.table("accounts").select(na=_.account_id, account_name=_.name)
    q = q.left_join(acc, q.account_id == acc.na).drop("na")
    q = q.select("key", rank=q.qr, text_id=q.text_id, account_id=q.account_id, account_name=q.account_name,
                 at=q["at"], text=q.text)
    return wh.execute(groups), wh.execute(q) if quotes > 0 else pd.DataFrame(
        columns=["key", "rank", "text_id", "account_id", "account_name", "at", "text"])


def _sentiment(session, assigned: pd.DataFrame, accounts: Sequence[str] | None,
               model_scores: dict[str, float] | None) -> pd.DataFrame:
    """Per group key: sentiment (mean effective score) and negative (share of negative texts)."""
    from tenure.voc.corrections import effective

    a = assigned if accounts is None else assigned[assigned["account_id"].isin(list(accounts))]
    texts = a[["text_id", "text"]].drop_duplicates("text_id")
    given = None
    if model_scores is not None:
        given = texts["text_id"].map(model_scores)
        if given.isna().any():
            missing = texts[given.isna()]
            from tenure.voc.corrections import model_sentiment

            given = given.copy()
            given[given.isna()] = model_sentiment(missing["text"].fillna("").astype(str).tolist())[0]
    eff = effective(session, texts, model_scores=None if given is None else given.to_numpy(dtype=float))
    joined = a[["text_id", "key"]].merge(eff[["text_id", "score", "label"]], on="text_id")
    joined["negative"] = (joined["label"] == "negative").astype(float)
    return joined.groupby("key").agg(sentiment=("score", "mean"), negative=("negative", "mean"))


def _num(v) -> float:
    return 0.0 if v is None or pd.isna(v) else float(v)


def ranked(wh: Warehouse, session, config: Config, kind: str, as_of: date | str | None = None, limit: int = 20,
           *, by: str | None = None, window_days: int = WINDOW_DAYS, accounts: Sequence[str] | None = None,
           quotes: int = 3, corpus_limit: int | None = corpus_mod.DEFAULT_LIMIT, use_embeddings: bool = True,
           texts: pd.DataFrame | None = None, sentiment: bool = False,
           model_scores: dict[str, float] | None = None) -> list[dict]:
    """The groups of `kind` ranked by `by` (default: arr; churned_arr for churn), biggest first:
    [{key, label, detail, n, accounts, arr, arr_at_risk, churned_arr, quotes:
    [{text_id, text, account_id, account_name, at}]}]. Money in the reporting currency, per year.
    `accounts`: only texts of these accounts (a principal's book; None: all). `limit` None: all.
    arr_at_risk is None for a group none of whose accounts has a risk score yet.
    sentiment=True adds "sentiment" (mean effective sentiment of the group's texts, -1 to 1) and
    "negative_share": people's corrections count over the model's (tenure.voc.corrections.effective);
    `model_scores` {text_id: score} spares re-scoring texts already scored."""
    if kind not in KINDS:
        raise InputError(f"kind {kind!r}: choose one of {', '.join(KINDS)}")
    by = by or ("churned_arr" if kind == "churn" else "arr")
    if by not in SORTS:
        raise InputError(f"--sort {by!r}: choose one of {', '.join(SORTS)}")
    if window_days < 1:
        raise InputError(f"--window-days {window_days}: give at least 1 day")
    day = resolve_as_of(wh, as_of)
    if day is None:
        raise InputError("no events in the warehouse yet: load data with `tenure ingest` or give --as-of")
    since = day - timedelta(days=window_days - 1)
    assigned = assign(wh, session, config, kind, since=since, until=day, corpus_limit=corpus_limit,
                      use_embeddings=use_embeddings, texts=texts)
    if assigned.empty:
        return []
    groups, quoted = ranked_frame(wh, config, assigned, kind, day, since, accounts=accounts, quotes=quotes)
    if groups.empty:
        return []
    labels = assigned.drop_duplicates("key").set_index("key")
    feeling = _sentiment(session, assigned, accounts, model_scores) if sentiment else None
    quote_rows: dict[str, list[dict]] = {}
    for r in quoted.sort_values(["key", "rank"]).to_dict(orient="records"):
        at = r["at"]
        quote_rows.setdefault(str(r["key"]), []).append({
            "text_id": r["text_id"], "text": r["text"], "account_id": r["account_id"],
            "account_name": r["account_name"], "at": None if at is None or pd.isna(at) else pd.Timestamp(at).date()})
    rows = []
    for r in groups.to_dict(orient="records"):
        key = str(r["key"])
        arr = _num(r["arr"])
        rows.append({"key": key, "label": str(labels.loc[key, "label"]), "detail": str(labels.loc[key, "detail"] or ""),
                     "n": int(r["n"]), "accounts": int(r["accounts"]), "arr": arr,
                     "arr_at_risk": None if pd.isna(r["arr_at_risk"]) else float(r["arr_at_risk"]),
                     "churned_arr": _num(r["churned_arr"]) if kind == "churn" else None,
                     "quotes": quote_rows.get(key, [])})
        if feeling is not None:
            rows[-1]["sentiment"] = _num(feeling["sentiment"].get(key)) if key in feeling.index else None
            rows[-1]["negative_share"] = _num(feeling["negative"].get(key)) if key in feeling.index else None
    rows.sort(key=lambda r: (-(r[by] or 0), -r["arr"], -r["n"], r["label"]))
    return rows if limit is None else rows[:limit]
