"""Topics analysts curate: keyword queries in a hierarchy, with manual tags and untags on any text.

Topics live in the state DB (tables voc_topics, voc_topic_tags; migration 0013), so analysts
add and change them with `tenure voc topics ...` without a deploy, and every change is in the audit
log (entities "voc_topic" and "voc_topic_tag").

A topic's query (case-insensitive, whole words):
    billing                      a word
    "credit card"                a phrase (its words in order, any spacing or punctuation between)
    invoic*                      a word starting with "invoic"
    billing AND refund           both (two terms side by side mean AND too)
    billing OR invoice           either
    billing NOT "thank you"      NOT excludes; parentheses group: (sso OR saml) AND error
Operators are written in capitals, so "and", "or" and "not" are plain words.

Membership of a text in a topic, decided in this order:
1. an untag by a person: never in it (an untag beats a keyword match);
2. a tag by a person: in it, whatever the query says;
3. otherwise in it when its query matches the text.
A text in a child topic is in every ancestor too (how="child"), unless untagged there. Tags are
kept by text id (tenure.voc.corpus ids are stable), so a rerun over new texts never loses one.
Matching is vectorised over the texts (pandas' regex engine), one pass per query term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tenure.errors import InputError
from tenure.state.audit import record
from tenure.state.models import VocTopic, VocTopicTag, utcnow

__all__ = ["Query", "parse_query", "match", "add_topic", "update_topic", "remove_topic", "list_topics",
           "get_topic", "tag", "untag", "clear_tag", "tags", "memberships", "topic_tree", "path_of"]

OPERATORS = ("AND", "OR", "NOT")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _./&+-]{0,99}$")


# -- the query language -------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    """A parsed query: op is "term", "phrase", "and", "or" or "not"."""

    op: str
    value: str = ""
    args: tuple[Query, ...] = ()

    def pattern(self) -> str:
        """The regular expression of a term or phrase (lower-case text, whole words)."""
        if self.op == "phrase":
            words = [re.escape(w) for w in re.findall(r"\w+", self.value.lower())]
            return r"(?<!\w)" + r"\W+".join(words) + r"(?!\w)"
        if self.value.endswith("*"):
            return r"(?<!\w)" + re.escape(self.value[:-1].lower()) + r"\w*"
        return r"(?<!\w)" + re.escape(self.value.lower()) + r"(?!\w)"

    def __str__(self) -> str:
        if self.op == "term":
            return self.value
        if self.op == "phrase":
            return f'"{self.value}"'
        if self.op == "not":
            return f"NOT {self.args[0]}"
        return "(" + f" {self.op.upper()} ".join(str(a) for a in self.args) + ")"


_TOKEN = re.compile(r'\s*(?:(?P<phrase>"[^"]*"?)|(?P<paren>[()])|(?P<word>[^\s()"]+))')


def _tokens(text: str, where: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        if m.group("phrase") is not None:
            raw = m.group("phrase")
            if len(raw) < 2 or not raw.endswith('"'):
                raise InputError(f"{where}: the phrase starting at character {m.start('phrase') + 1} has no "
                                 f"closing quote (\")")
            phrase = raw[1:-1].strip()
            if not re.search(r"\w", phrase):
                raise InputError(f"{where}: the phrase at character {m.start('phrase') + 1} has no words")
            out.append(("phrase", phrase, m.start("phrase")))
        elif m.group("paren") is not None:
            out.append((m.group("paren"), m.group("paren"), m.start("paren")))
        else:
            word = m.group("word")
            kind = "op" if word in OPERATORS else "term"
            if kind == "term" and not re.search(r"\w", word.rstrip("*")):
                raise InputError(f"{where}: {word!r} at character {m.start('word') + 1} is not a word")
            out.append((kind, word, m.start("word")))
        pos = m.end()
    return out


def parse_query(text: str, *, topic: str | None = None) -> Query | None:
    """The parsed query (None for an empty one); an InputError names the topic, the character and
    what to fix."""
    where = f"topic {topic!r} query {text!r}" if topic else f"query {text!r}"
    toks = _tokens(text or "", where)
    if not toks:
        return None
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def fail(msg: str, at: int | None = None):
        at = len(text) if at is None else at
        raise InputError(f"{where}: {msg} at character {at + 1} (write terms, \"phrases\", AND, OR, NOT and "
                         f"parentheses)")

    def or_expr() -> Query:
        nonlocal pos
        args = [and_expr()]
        while (t := peek()) and t[0] == "op" and t[1] == "OR":
            pos += 1
            args.append(and_expr())
        return args[0] if len(args) == 1 else Query("or", args=tuple(args))

    def and_expr() -> Query:
        nonlocal pos
        args = [not_expr()]
        while (t := peek()) and not (t[0] == "op" and t[1] == "OR") and t[0] != ")":
            if t[0] == "op" and t[1] == "AND":
                pos += 1
            args.append(not_expr())
        return args[0] if len(args) == 1 else Query("and", args=tuple(args))

    def not_expr() -> Query:
        nonlocal pos
        t = peek()
        if t and t[0] == "op" and t[1] == "NOT":
            pos += 1
            return Query("not", args=(not_expr(),))
        return atom()

    def atom() -> Query:
        nonlocal pos
        t = peek()
        if t is None:
            fail("a term is missing")
        if t[0] == "(":
            pos += 1
            inner = or_expr()
            close = peek()
            if close is None or close[0] != ")":
                fail("')' is missing", None if close is None else close[2])
            pos += 1
            return inner
        if t[0] == "term":
            pos += 1
            return Query("term", t[1])
        if t[0] == "phrase":
            pos += 1
            return Query("phrase", t[1])
        fail(f"{t[1]!r} is not expected here", t[2])
        raise AssertionError  # unreachable

    q = or_expr()
    if pos < len(toks):
        fail(f"{toks[pos][1]!r} is not expected here", toks[pos][2])
    if _only_negative(q):
        raise InputError(f"{where}: a query needs at least one term that is not under NOT (e.g. billing NOT refund)")
    return q


def _only_negative(q: Query) -> bool:
    if q.op == "not":
        return True
    if q.op == "and":
        return all(_only_negative(a) for a in q.args)
    if q.op == "or":
        return any(_only_negative(a) for a in q.args)
    return False


def match(query: Query | str | None, texts: pd.Series) -> pd.Series:
    """Boolean Series: which texts the query matches (an empty query matches none)."""
    if isinstance(query, str):
        query = parse_query(query)
    lower = texts.fillna("").astype(str).str.lower()
    if query is None:
        return pd.Series(False, index=texts.index)
    cache: dict[str, pd.Series] = {}

    def ev(q: Query) -> pd.Series:
        if q.op in ("term", "phrase"):
            pat = q.pattern()
            if pat not in cache:
                cache[pat] = lower.str.contains(pat, regex=True)
            return cache[pat]
        if q.op == "not":
            return ~ev(q.args[0])
        parts = [ev(a) for a in q.args]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if q.op == "and" else (out | p)
        return out

    return ev(query).astype(bool)


# -- topics ------------------------------------------------------------------------------------

def _snapshot(t: VocTopic, parent: str | None) -> dict:
    return {"name": t.name, "query": t.query, "parent": parent, "description": t.description}


def get_topic(session: Session, name: str) -> VocTopic:
    t = session.scalar(select(VocTopic).where(VocTopic.name == name))
    if t is None:
        known = ", ".join(session.scalars(select(VocTopic.name).order_by(VocTopic.name)).all()) or "none yet"
        raise InputError(f"no topic {name!r} (topics: {known}); add it with `tenure voc topics add`")
    return t


def _parent_id(session: Session, name: str, parent: str | None) -> int | None:
    if not parent:
        return None
    p = get_topic(session, parent)
    # refuse a cycle: the parent must not be the topic or one of its descendants
    node: VocTopic | None = p
    while node is not None:
        if node.name == name:
            raise InputError(f"topic {name!r}: parent {parent!r} is {name!r} itself or one of its children; "
                             f"choose a parent outside its branch")
        node = session.get(VocTopic, node.parent_id) if node.parent_id else None
    return p.id


def add_topic(session: Session, name: str, query: str = "", *, parent: str | None = None,
              description: str | None = None, actor: str) -> VocTopic:
    """A new topic; InputError for a bad name, a taken name, an unknown parent or a bad query."""
    name = (name or "").strip()
    if not NAME.match(name):
        raise InputError(f"topic name {name!r}: use 1-100 letters, digits, spaces or _ . / & + - "
                         f"(starting with a letter or digit)")
    if session.scalar(select(VocTopic.id).where(VocTopic.name == name)) is not None:
        raise InputError(f"topic {name!r} already exists: change it with `tenure voc topics edit`")
    parse_query(query, topic=name)
    t = VocTopic(name=name, query=query or "", parent_id=_parent_id(session, name, parent), description=description,
                 created_by=actor)
    session.add(t)
    session.flush()
    record(session, actor, "create", "voc_topic", str(t.id), None, _snapshot(t, parent))
    return t


_UNSET = object()


def update_topic(session: Session, name: str, *, query: str | None = None, parent=_UNSET,
                 description: str | None = None, new_name: str | None = None, actor: str) -> VocTopic:
    """Change a topic's query, parent ("" or None: top level), description or name."""
    t = get_topic(session, name)
    before = _snapshot(t, path_of(session, t.parent_id)[-1] if t.parent_id else None)
    if new_name and new_name != t.name:
        if not NAME.match(new_name):
            raise InputError(f"topic name {new_name!r}: use 1-100 letters, digits, spaces or _ . / & + -")
        if session.scalar(select(VocTopic.id).where(VocTopic.name == new_name)) is not None:
            raise InputError(f"topic {new_name!r} already exists")
        t.name = new_name
    if query is not None:
        parse_query(query, topic=t.name)
        t.query = query
    parent_name = before["parent"]
    if parent is not _UNSET:
        t.parent_id = _parent_id(session, t.name, parent or None)
        parent_name = parent or None
    if description is not None:
        t.description = description
    t.updated_at = utcnow()
    session.flush()
    record(session, actor, "update", "voc_topic", str(t.id), before, _snapshot(t, parent_name))
    return t


def remove_topic(session: Session, name: str, *, actor: str) -> None:
    """Delete a topic and its tags; its children move up to its parent."""
    t = get_topic(session, name)
    for child in session.scalars(select(VocTopic).where(VocTopic.parent_id == t.id)):
        child.parent_id = t.parent_id
    n_tags = len(session.scalars(select(VocTopicTag.id).where(VocTopicTag.topic_id == t.id)).all())
    session.execute(delete(VocTopicTag).where(VocTopicTag.topic_id == t.id))
    record(session, actor, "delete", "voc_topic", str(t.id), {**_snapshot(t, None), "tags": n_tags}, None)
    session.delete(t)
    session.flush()


def list_topics(session: Session) -> list[VocTopic]:
    return list(session.scalars(select(VocTopic).order_by(VocTopic.name)))


def path_of(session: Session, topic_id: int | None) -> list[str]:
    """Names from the root to the topic ("Product", "Product/Reporting")."""
    names, node = [], session.get(VocTopic, topic_id) if topic_id else None
    while node is not None:
        names.insert(0, node.name)
        node = session.get(VocTopic, node.parent_id) if node.parent_id else None
    return names


def topic_tree(session: Session) -> list[dict]:
    """Every topic as {name, path ("Parent / Child"), depth, parent, query, description, tags,
    untags}, parents before their children."""
    topics = list_topics(session)
    by_id = {t.id: t for t in topics}
    counts: dict[tuple[int, str], int] = {}
    for topic_id, action in session.execute(select(VocTopicTag.topic_id, VocTopicTag.action)):
        counts[(topic_id, action)] = counts.get((topic_id, action), 0) + 1

    def path(t: VocTopic) -> list[str]:
        out, node, seen = [], t, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            out.insert(0, node.name)
            node = by_id.get(node.parent_id) if node.parent_id else None
        return out

    rows = [{"name": t.name, "path": " / ".join(path(t)), "depth": len(path(t)) - 1,
             "parent": by_id[t.parent_id].name if t.parent_id in by_id else None, "query": t.query,
             "description": t.description, "tags": counts.get((t.id, "tag"), 0),
             "untags": counts.get((t.id, "untag"), 0)} for t in topics]
    return sorted(rows, key=lambda r: r["path"].lower())


# -- manual tags -------------------------------------------------------------------------------

def _set_tag(session: Session, topic: str, text_ids: list[str], action: str, actor: str,
             now: datetime | None = None) -> int:
    from tenure.voc.corpus import source_of

    t = get_topic(session, topic)
    ids = list(dict.fromkeys(str(i).strip() for i in text_ids if str(i).strip()))
    if not ids:
        raise InputError(f"{action}: give at least one text id (e.g. survey:R1)")
    for i in ids:
        source_of(i)  # names an id that is no corpus id
    existing = {r.text_id: r for r in session.scalars(
        select(VocTopicTag).where(VocTopicTag.topic_id == t.id, VocTopicTag.text_id.in_(ids)))}
    changed = 0
    for i in ids:
        row = existing.get(i)
        if row is not None and row.action == action:
            continue
        before = {"action": row.action} if row is not None else None
        if row is None:
            session.add(VocTopicTag(topic_id=t.id, text_id=i, action=action, actor=actor, at=now or utcnow()))
        else:
            row.action, row.actor, row.at = action, actor, now or utcnow()
        record(session, actor, action, "voc_topic_tag", f"{t.name}:{i}"[:100], before,
               {"topic": t.name, "text_id": i, "action": action})
        changed += 1
    session.flush()
    return changed


def tag(session: Session, topic: str, text_ids: list[str], *, actor: str) -> int:
    """Put texts in a topic whatever its query says; returns how many changed."""
    return _set_tag(session, topic, text_ids, "tag", actor)


def untag(session: Session, topic: str, text_ids: list[str], *, actor: str) -> int:
    """Keep texts out of a topic even when its query matches; returns how many changed."""
    return _set_tag(session, topic, text_ids, "untag", actor)


def clear_tag(session: Session, topic: str, text_ids: list[str], *, actor: str) -> int:
    """Forget a person's tag or untag (the query decides again); returns how many were removed."""
    t = get_topic(session, topic)
    rows = list(session.scalars(select(VocTopicTag).where(VocTopicTag.topic_id == t.id,
                                                          VocTopicTag.text_id.in_(list(text_ids)))))
    for row in rows:
        record(session, actor, "clear", "voc_topic_tag", f"{t.name}:{row.text_id}"[:100], {"action": row.action},
               None)
        session.delete(row)
    session.flush()
    return len(rows)


def tags(session: Session, topic: str | None = None) -> pd.DataFrame:
    """The people's decisions: DataFrame[topic, text_id, action, actor, at]."""
    q = select(VocTopic.name, VocTopicTag.text_id, VocTopicTag.action, VocTopicTag.actor, VocTopicTag.at).join(
        VocTopic, VocTopic.id == VocTopicTag.topic_id)
    if topic:
        q = q.where(VocTopic.id == get_topic(session, topic).id)
    rows = session.execute(q.order_by(VocTopic.name, VocTopicTag.text_id)).all()
    return pd.DataFrame(rows, columns=["topic", "text_id", "action", "actor", "at"])


# -- membership --------------------------------------------------------------------------------

MEMBER_COLUMNS = ["text_id", "topic", "how"]


def memberships(session: Session, texts: pd.DataFrame) -> pd.DataFrame:
    """Which of `texts` (text_id, text) are in which topic: DataFrame[text_id, topic, how] with how
    "manual" (a person's tag), "keyword" (the query) or "child" (via a child topic). Untags win."""
    topics = list_topics(session)
    if not topics or texts.empty:
        return pd.DataFrame(columns=MEMBER_COLUMNS)
    by_id = {t.id: t for t in topics}
    ids = texts["text_id"].astype(str)
    parts = []
    for t in topics:
        q = parse_query(t.query, topic=t.name)
        if q is not None:
            hit = ids[match(q, texts["text"]).to_numpy()]
            parts.append(pd.DataFrame({"text_id": hit.to_numpy(), "topic_id": t.id, "how": "keyword"}))
    decided = pd.DataFrame(session.execute(select(VocTopicTag.text_id, VocTopicTag.topic_id, VocTopicTag.action)).all(),
                           columns=["text_id", "topic_id", "action"])
    decided = decided[decided["text_id"].isin(set(ids))]
    tagged = decided[decided["action"] == "tag"]
    parts.append(pd.DataFrame({"text_id": tagged["text_id"].to_numpy(), "topic_id": tagged["topic_id"].to_numpy(),
                               "how": "manual"}))
    direct = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=["text_id", "topic_id", "how"])],
                       ignore_index=True)
    # a manual tag is the reason shown when the query matches too
    direct["rank"] = direct["how"].map({"manual": 0, "keyword": 1})
    direct = direct.sort_values("rank").drop_duplicates(["text_id", "topic_id"]).drop(columns="rank")
    untagged = decided[decided["action"] == "untag"][["text_id", "topic_id"]].assign(_untag=True)

    def drop_untagged(df: pd.DataFrame) -> pd.DataFrame:
        df = df.merge(untagged, on=["text_id", "topic_id"], how="left")
        return df[df["_untag"].isna()].drop(columns="_untag")

    # roll up to ancestors (what a person took out of a topic does not reach its parents through it)
    parent_of = {t.id: t.parent_id for t in topics if t.parent_id in by_id}
    rolled = [drop_untagged(direct)]
    frontier = rolled[0]
    for _ in range(len(topics)):
        up = frontier.assign(topic_id=frontier["topic_id"].map(parent_of), how="child").dropna(subset=["topic_id"])
        up = drop_untagged(up.astype({"topic_id": int}))
        if up.empty:
            break
        rolled.append(up)
        frontier = up
    out = pd.concat(rolled, ignore_index=True)
    out["rank"] = out["how"].map({"manual": 0, "keyword": 1, "child": 2})
    out = out.sort_values("rank", kind="stable").drop_duplicates(["text_id", "topic_id"]).drop(columns="rank")
    out["topic"] = out["topic_id"].map({t.id: t.name for t in topics})
    return out[MEMBER_COLUMNS].sort_values(["topic", "text_id"]).reset_index(drop=True)
