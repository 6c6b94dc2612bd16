"""Feature requests: extracted from what customers write, grouped, and labelled.

Extraction: texts (survey comments, custom-survey text answers, tickets, activity and CSM notes;
tenure.voc.corpus) are split into sentences, and a sentence is a request when it holds a request
phrase (PREFIX_TRIGGERS: "would be great if", "please add", "can you add", "I wish", "feature
request", "we need", "would love", "ability to", "add support for", "missing" ...; or "X is
missing"). The request is the words after the phrase (or before "is missing"), up to the end of
the clause, at most MAX_WORDS words.

Normalisation: the request's first KEY_WORDS content words (stop words and filler such as
"a", "more", "the option to" dropped; simple plurals singular), in alphabetical order, make its
key, so "more filters" and "Filters please" share the key "filter", and "export to Excel" and
"Excel export" the key "excel export".

Grouping: requests with the same key are one group; with the embedding model (tenure.voc.embed)
the keys themselves are clustered (average-linkage agglomerative clustering on cosine distance,
threshold CLUSTER_DISTANCE, over at most MAX_KEYS most frequent keys), so "export to excel" and
"excel export" meet. A group's label is its most frequent request as written (ties by the
shortest, then alphabetical), capitalised; its id is the label's slug, stable across runs while
the label is. Everything is vectorised per pattern (pandas' regex engine), not per row.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from tenure.voc.corpus import load
from tenure.warehouse import Warehouse

__all__ = ["PREFIX_TRIGGERS", "REQUEST_SOURCES", "extract", "group", "feature_requests", "key_of"]

REQUEST_SOURCES = ("survey", "survey_answer", "ticket", "activity", "note")
MAX_WORDS = 10
KEY_WORDS = 3
CLUSTER_DISTANCE = 0.3
MAX_KEYS = 2000

PREFIX_TRIGGERS = (
    r"(?:it\s+)?would\s+be\s+(?:great|nice|awesome|helpful|useful|good|amazing)\s+(?:if|to)\s+"
    r"(?:you\s+(?:could|can|would)\s+|we\s+(?:could|can)\s+|there\s+(?:was|were|is)\s+|it\s+(?:could|would)\s+)?"
    r"(?:add\s+|have\s+|get\s+|see\s+|support\s+)?",
    r"(?:please|pls)\s+(?:add|include|support|build)\s+",
    r"(?:can|could|would)\s+you\s+(?:please\s+)?(?:add|include|build|support)\s+",
    r"(?:can|could)\s+(?:we|i)\s+(?:please\s+)?(?:get|have)\s+",
    r"(?:i|we)\s+(?:really\s+)?wish\s+(?:there\s+(?:was|were)\s+|you\s+(?:had|would\s+add)\s+|it\s+(?:had|could)\s+|for\s+)?",
    r"feature\s+requests?\s*[:\-]?\s*(?:for\s+|to\s+)?",
    r"(?:add|adding|need|want|no|lacks?|lacking|requesting|would\s+like)\s+support\s+for\s+",
    r"(?:we|i)\s+(?:really\s+|badly\s+|still\s+)?need\s+(?:a\s+way\s+to\s+|to\s+be\s+able\s+to\s+)?",
    r"(?:we|i)\s+would\s+(?:really\s+)?(?:love|like)\s+(?:to\s+(?:see|have|get)\s+)?",
    r"(?:the\s+)?(?:ability|option)\s+to\s+",
    r"(?:^|\s)missing\s+(?:an?\s+|the\s+)?",
)
SUFFIX_TRIGGER = r"((?:\w+[\s\-]+){0,3}\w+)\s+(?:is|are)\s+(?:still\s+)?missing"
# a word every trigger holds: sentences without any are skipped before the full patterns run
CHEAP = r"would|please|pls|\byou\b|\bwe\b|wish|request|support|need|love|like|ability|option|missing"
STOP = frozenset("""a an the some more any our my your their its this that these those to for of on in with and or
please pls also just really very so be able way option ability feature features request thing things it
we i you us me them there is are was were can could would should will get have has had add adding new better""".split())
# keep these words even though they are short or common: they carry the request
_WORD = re.compile(r"[a-z0-9][a-z0-9+#\-]*")


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def key_of(request: str) -> str:
    """The normalised key of one request: its first KEY_WORDS content words, singular, in alphabetical
    order ("More filters please" -> "filter"; "export to Excel" and "Excel export" -> "excel export")."""
    words = [_singular(w) for w in _WORD.findall(str(request).lower()) if w not in STOP]
    return " ".join(sorted(dict.fromkeys(words[:KEY_WORDS])))


LEADING = r"^(?:(?:a|an|the|some|more|support\s+for|for|to\s+have|have|to)\s+)+"


def _clip(phrases: pd.Series) -> pd.Series:
    cleaned = phrases.fillna("").str.strip(" \t,:;-\"'").str.replace(LEADING, "", regex=True, case=False)
    return cleaned.str.split().str[:MAX_WORDS].str.join(" ")


def extract(texts: pd.DataFrame) -> pd.DataFrame:
    """Requests in `texts` (text_id, account_id, text[, source, at]): one row per request with
    text_id, account_id, sentence, request (the words asked for) and key."""
    cols = [c for c in ("text_id", "account_id", "source", "at") if c in texts.columns]
    if texts.empty:
        return pd.DataFrame(columns=[*cols, "sentence", "request", "key"])
    sentences = texts[cols].assign(sentence=texts["text"].fillna("").astype(str).str.split(r"(?<=[.!?])\s+|\n+"))
    sentences = sentences.explode("sentence", ignore_index=True)
    sentences = sentences[sentences["sentence"].str.strip() != ""]
    # the patterns run once per distinct sentence that holds one of their words at all
    distinct = sentences["sentence"].drop_duplicates()
    distinct = distinct[distinct.str.contains(CHEAP, case=False, regex=True)]
    prefix = "(?i)(?:" + "|".join(PREFIX_TRIGGERS) + r")(?P<req>[^.!?;,\n]{2,200})"
    found = distinct.str.extract(prefix)["req"]
    after = distinct.str.extract("(?i)" + SUFFIX_TRIGGER)[0]
    request = _clip(found.where(found.notna(), after))
    out = sentences.assign(request=sentences["sentence"].map(dict(zip(distinct, request))).fillna(""))
    out = out[out["request"].str.len() > 0]
    unique = out["request"].drop_duplicates()
    out = out.assign(key=out["request"].map(dict(zip(unique, unique.map(key_of)))))  # once per distinct request
    out = out[out["key"] != ""]
    return out.reset_index(drop=True)


def _label(frame: pd.DataFrame) -> pd.Series:
    """The label of each group: its most frequent request as written, capitalised."""
    norm = frame.assign(req=frame["request"].str.strip(" .!?,"))
    norm = norm.assign(low=norm["req"].str.lower())
    counts = norm.groupby(["group", "low"]).agg(n=("req", "size"), req=("req", "min")).reset_index()
    counts["len"] = counts["low"].str.len()
    counts = counts.sort_values(["group", "n", "len", "low"], ascending=[True, False, True, True])
    top = counts.drop_duplicates("group").set_index("group")["req"]
    return top.str[:1].str.upper() + top.str[1:]


def _slug(label: pd.Series) -> pd.Series:
    return label.str.lower().str.replace(r"[^a-z0-9]+", "-", regex=True).str.strip("-").str[:80]


def group(requests: pd.DataFrame, *, use_embeddings: bool = True) -> pd.DataFrame:
    """`requests` (from `extract`) with group_id and group_label."""
    if requests.empty:
        return requests.assign(group_id=pd.Series(dtype=object), group_label=pd.Series(dtype=object))
    keys = requests["key"].value_counts()
    keys = keys.sort_index().sort_values(ascending=False, kind="stable")
    mapping = {k: k for k in keys.index}
    if use_embeddings and len(keys) > 1:
        top = list(keys.index[:MAX_KEYS])
        vectors = _embed(top)
        if vectors is not None:
            from sklearn.cluster import AgglomerativeClustering

            labels = AgglomerativeClustering(n_clusters=None, distance_threshold=CLUSTER_DISTANCE, metric="cosine",
                                             linkage="average").fit_predict(vectors)
            # each cluster is named after its most frequent key (keys are in frequency order)
            head: dict[int, str] = {}
            for k, lab in zip(top, labels):
                head.setdefault(int(lab), k)
                mapping[k] = head[int(lab)]
    out = requests.assign(group=requests["key"].map(mapping))
    labels = _label(out)
    out = out.assign(group_label=out["group"].map(labels))
    out = out.assign(group_id=_slug(out["group_label"]))
    return out.drop(columns="group")


def _embed(texts: list[str]) -> np.ndarray | None:
    from tenure.voc.embed import embed_if_available

    return embed_if_available(texts)


def feature_requests(wh: Warehouse, *, session=None, since: date | None = None, until: date | None = None,
                     limit: int | None = None, use_embeddings: bool = True, texts: pd.DataFrame | None = None
                     ) -> pd.DataFrame:
    """Grouped requests from the corpus (or from `texts`): text_id, account_id, source, at,
    sentence, request, key, group_id, group_label."""
    if texts is None:
        from tenure.voc.corpus import DEFAULT_LIMIT

        texts = load(wh, session=session, sources=REQUEST_SOURCES, since=since, until=until,
                     limit=DEFAULT_LIMIT if limit is None else limit)
    else:
        texts = texts[texts["source"].isin(REQUEST_SOURCES)] if "source" in texts.columns else texts
    return group(extract(texts), use_embeddings=use_embeddings)
