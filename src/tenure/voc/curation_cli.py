"""`tenure voc topics|correct|agreement|churn-reasons|requests|rank`: curation and ranking (docs/voc.md
"Topics, requests and churn reasons")."""

from __future__ import annotations

import contextlib
import json
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")
JsonOpt = typer.Option(False, "--json", help="print the answer as JSON")
UserOpt = typer.Option(None, "--user", envvar="TENURE_USER", help="who makes the change (audit log; default: cli)")
AsOfOpt = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: the latest day with events)")
WindowOpt = typer.Option(365, "--window-days", help="texts of this many days up to the as-of day")
LimitOpt = typer.Option(50_000, "--corpus-limit", help="read at most this many texts, newest first (bounds big "
                                                        "warehouses)")

topics_app = typer.Typer(help="Topics analysts curate: keyword queries in a hierarchy, manual tags and untags.",
                         no_args_is_help=True)


def _json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


@contextlib.contextmanager
def _progress(disable: bool):
    """A Rich spinner with the step being done (off for --json)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True, disable=disable) as bar:
        task = bar.add_task("starting", total=None)
        yield lambda text: bar.update(task, description=text)


@contextlib.contextmanager
def _stores(config_path: Path | None, *, warehouse: bool = True):
    from tenure.config import load_config
    from tenure.state.db import session_scope
    from tenure.warehouse import connect

    config = load_config(config_path)
    with session_scope(config) as session:
        if not warehouse:
            yield config, None, session
            return
        with connect(config=config, write=False) as wh:
            yield config, wh, session


def _window(wh, as_of: str | None, window_days: int) -> tuple[date, date]:
    from tenure.errors import InputError
    from tenure.warehouse.asof import require_as_of

    if window_days < 1:
        raise InputError(f"--window-days {window_days}: give at least 1 day")
    day = require_as_of(wh, as_of)
    return day - timedelta(days=window_days - 1), day


# -- topics ------------------------------------------------------------------------------------

@topics_app.command("list")
def topics_list(as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Every topic (parents before children) with its query and how many tags and untags people set."""
    from tenure.voc.topics import topic_tree

    with _stores(config_path, warehouse=False) as (_, __, session):
        rows = topic_tree(session)
    if as_json:
        _json(rows)
        return
    if not rows:
        console.print("no topics yet: add one with `tenure voc topics add NAME --query 'billing OR invoice'`")
        return
    t = Table(title="Topics", title_justify="left")
    for col in ("topic", "query", "tags", "untags"):
        t.add_column(col, justify="right" if col in ("tags", "untags") else "left")
    for r in rows:
        t.add_row("  " * r["depth"] + r["name"], r["query"] or "[dim](manual tags only)[/dim]", str(r["tags"]),
                  str(r["untags"]))
    console.print(t)


@topics_app.command("add")
def topics_add(name: str = typer.Argument(..., help="topic name"),
               query: str = typer.Option("", "--query", "-q", help="keywords: AND, OR, NOT, \"phrases\", prefix*"),
               parent: str = typer.Option(None, "--parent", help="the parent topic"),
               description: str = typer.Option(None, "--description"), user: str = UserOpt,
               config_path: Path = ConfigOpt) -> None:
    """Add a topic."""
    from tenure.voc.topics import add_topic

    with _stores(config_path, warehouse=False) as (_, __, session):
        add_topic(session, name, query, parent=parent, description=description, actor=user or "cli")
    console.print(f"topic {name!r} added" + (f" under {parent!r}" if parent else ""))


@topics_app.command("edit")
def topics_edit(name: str = typer.Argument(..., help="topic name"),
                query: str = typer.Option(None, "--query", "-q", help="the new query"),
                parent: str = typer.Option(None, "--parent", help="the new parent ('' for top level)"),
                rename: str = typer.Option(None, "--rename", help="the new name"),
                description: str = typer.Option(None, "--description"), user: str = UserOpt,
                config_path: Path = ConfigOpt) -> None:
    """Change a topic's query, parent, name or description."""
    from tenure.voc.topics import _UNSET, update_topic

    with _stores(config_path, warehouse=False) as (_, __, session):
        t = update_topic(session, name, query=query, parent=_UNSET if parent is None else parent,
                         description=description, new_name=rename, actor=user or "cli")
        shown = t.name
    console.print(f"topic {shown!r} changed")


@topics_app.command("remove")
def topics_remove(name: str = typer.Argument(...), user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Delete a topic and its tags (its children move up to its parent)."""
    from tenure.voc.topics import remove_topic

    with _stores(config_path, warehouse=False) as (_, __, session):
        remove_topic(session, name, actor=user or "cli")
    console.print(f"topic {name!r} removed")


def _tagging(action: str):
    def command(topic: str = typer.Argument(..., help="topic name"),
                text_ids: list[str] = typer.Argument(..., help="text ids, e.g. survey:R1 ticket:T9"),
                user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
        from tenure.voc import topics

        from tenure.voc.corpus import texts_by_id

        fn = {"tag": topics.tag, "untag": topics.untag, "clear": topics.clear_tag}[action]
        with _stores(config_path) as (_, wh, session):
            n = fn(session, topic, list(text_ids), actor=user or "cli")
            found = set(texts_by_id(wh, list(text_ids), session=session)["text_id"])
        console.print(f"{action}: {n} of {len(text_ids)} text(s) changed in topic {topic!r}")
        unknown = [i for i in text_ids if i not in found]
        if unknown and action != "clear":
            console.print(f"[yellow]not in the warehouse (yet): {', '.join(unknown)}; kept, it applies once the "
                          f"text arrives[/yellow]")

    command.__doc__ = {"tag": "Put texts in a topic, whatever its query says (kept across runs).",
                       "untag": "Keep texts out of a topic even when its query matches (an untag beats keywords).",
                       "clear": "Forget people's tag or untag on texts: the query decides again."}[action]
    return command


for _action in ("tag", "untag", "clear"):
    topics_app.command(_action)(_tagging(_action))


@topics_app.command("show")
def topics_show(name: str = typer.Argument(..., help="topic name"), as_of: str = AsOfOpt,
                window_days: int = WindowOpt, limit: int = typer.Option(20, "--limit", help="texts shown"),
                corpus_limit: int = LimitOpt, as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """The texts in a topic now (newest first) and why: keyword, manual tag, or a child topic."""
    from tenure.voc.corpus import load
    from tenure.voc.topics import get_topic, memberships

    with _stores(config_path) as (config, wh, session), _progress(as_json) as step:
        get_topic(session, name)
        since, day = _window(wh, as_of, window_days)
        step("reading the texts")
        texts = load(wh, session=session, since=since, until=day, limit=corpus_limit)
        step("matching topics")
        m = memberships(session, texts[["text_id", "text"]])
    m = m[m["topic"] == name].merge(texts, on="text_id").sort_values(["at", "text_id"], ascending=[False, True])
    rows = [{"text_id": r["text_id"], "how": r["how"], "account_id": r["account_id"], "at": r["at"],
             "text": r["text"]} for r in m.head(limit).to_dict(orient="records")]
    if as_json:
        _json({"topic": name, "texts": len(m), "rows": rows})
        return
    console.print(f"[bold]{name}[/bold]: {len(m)} text(s) from {since} to {day}")
    t = Table()
    for col in ("text id", "how", "account", "text"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["text_id"], r["how"], r["account_id"], str(r["text"])[:120])
    console.print(t)


# -- corrections -------------------------------------------------------------------------------

def correct_cmd(text_id: str = typer.Argument(..., help="the text, e.g. survey:R1"),
                label: str = typer.Option(None, "--label", help="negative, neutral or positive"),
                score: float = typer.Option(None, "--score", help="the person's score, -1 to 1"),
                note: str = typer.Option(None, "--note", help="why"),
                remove: bool = typer.Option(False, "--remove", help="forget the correction"),
                user: str = UserOpt, as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Set a text's sentiment by hand; it overrides the model wherever sentiment is read."""
    from tenure.errors import InputError
    from tenure.voc import corrections
    from tenure.voc.corpus import texts_by_id

    with _stores(config_path) as (config, wh, session):
        if remove:
            done = corrections.remove(session, text_id, actor=user or "cli")
            console.print(f"correction of {text_id} removed" if done else f"{text_id} had no correction")
            return
        found = texts_by_id(wh, [text_id], session=session)
        if found.empty:
            raise InputError(f"no text {text_id!r} in the warehouse (ids as listed by `tenure voc topics show` or "
                             f"`tenure voc rank --json`)")
        model_score, model_label = corrections.model_sentiment(found["text"].tolist())
        row = corrections.correct(session, text_id, label=label, score=score, note=note,
                                  model_score=float(model_score[0]), model_label=model_label[0],
                                  actor=user or "cli")
        out = {"text_id": row.text_id, "label": row.label, "score": row.score, "model_label": row.model_label,
               "model_score": row.model_score}
    if as_json:
        _json(out)
        return
    agree = "agrees with" if out["label"] == out["model_label"] else "overrides"
    console.print(f"{text_id}: {out['label']} ({agree} the model's {out['model_label']}, "
                  f"{out['model_score']:+.2f})")


def agreement_cmd(as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """How often people agree with the model, over the corrected texts: share agreeing, Cohen's kappa,
    and the confusion by class (model's label when each correction was made)."""
    from tenure.voc.corrections import LABELS, agreement

    with _stores(config_path, warehouse=False) as (_, __, session):
        a = agreement(session)
    if as_json:
        _json(a.as_dict())
        return
    if not a.n:
        console.print("no corrections yet: set one with `tenure voc correct TEXT_ID --label positive`")
        return
    kappa = "–" if a.kappa is None else f"{a.kappa:.2f}"
    console.print(f"[bold]Model vs people[/bold] on {a.n} corrected text(s), all time: {a.agreeing} agree "
                  f"({_pct(a.share)}), Cohen's kappa {kappa}")
    t = Table(title="confusion (rows: model, columns: people)", title_justify="left")
    t.add_column("model \\ people")
    for lab in LABELS:
        t.add_column(lab, justify="right")
    for m in LABELS:
        t.add_row(m, *(str(a.confusion[m][p]) for p in LABELS))
    console.print(t)


# -- churn reasons, requests, ranking ------------------------------------------------------------

def churn_reasons_cmd(as_of: str = AsOfOpt, window_days: int = WindowOpt,
                      category: str = typer.Option(None, "--category", help="only this category"),
                      limit: int = typer.Option(30, "--limit", help="texts shown"),
                      no_embeddings: bool = typer.Option(False, "--no-embeddings",
                                                         help="keywords only (no sentence model)"),
                      as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Churn reasons and churn comments classified into the taxonomy of tenure.yaml, with the method
    (recorded, keyword, embedding) and a confidence."""
    from tenure.voc.churn_taxonomy import classify_churn

    with _stores(config_path, warehouse=True) as (config, wh, session), _progress(as_json) as step:
        since, day = _window(wh, as_of, window_days)
        step("classifying churn reasons and comments")
        df = classify_churn(wh, config, since=since, until=day, use_embeddings=not no_embeddings)
    if category:
        df = df[df["category"] == category]
    counts = df.groupby("category").agg(texts=("text_id", "size"), accounts=("account_id", "nunique"),
                                        confidence=("confidence", "mean")).reset_index()
    counts = counts.sort_values(["texts", "category"], ascending=[False, True])
    rows = [{"text_id": r["text_id"], "account_id": r["account_id"], "at": r["at"], "category": r["category"],
             "method": r["method"], "confidence": float(r["confidence"]), "text": r["text"],
             "recorded": r["recorded"]} for r in df.head(limit).to_dict(orient="records")]
    if as_json:
        _json({"since": since, "as_of": day, "categories": counts.to_dict(orient="records"), "texts": rows})
        return
    console.print(f"[bold]Churn reasons[/bold] {since} – {day}: {len(df)} text(s)")
    t = Table(title="by category", title_justify="left")
    for col in ("category", "texts", "accounts", "mean confidence"):
        t.add_column(col, justify="left" if col == "category" else "right")
    for r in counts.to_dict(orient="records"):
        t.add_row(r["category"], str(r["texts"]), str(r["accounts"]), _pct(r["confidence"]))
    console.print(t)
    t = Table(title="texts (newest first)", title_justify="left")
    for col in ("text id", "category", "method", "confidence", "text"):
        t.add_column(col, justify="right" if col == "confidence" else "left")
    for r in rows:
        t.add_row(r["text_id"], r["category"], r["method"], _pct(r["confidence"]), str(r["text"])[:90])
    console.print(t)


def _rank_table(rows: list[dict], kind: str, currency: str, title: str, sentiment: bool = False) -> Table:
    from tenure.formats import money

    t = Table(title=title, title_justify="left")
    cols = ["#", kind[:-1] if kind.endswith("s") else "reason", "texts", "accounts", "ARR", "ARR at risk"]
    if kind == "churn":
        cols.append("churned ARR")
    if sentiment:
        cols.append("sentiment")
    cols.append("example")
    for col in cols:
        t.add_column(col, justify="right" if col in ("#", "texts", "accounts", "ARR", "ARR at risk", "churned ARR")
                     else "left")
    for i, r in enumerate(rows, 1):
        q = r["quotes"][0] if r["quotes"] else None
        example = f"\"{q['text'][:70]}\" — {q['account_name'] or q['account_id']}" if q else ""
        cells = [str(i), r["label"], str(r["n"]), str(r["accounts"]), money(r["arr"], currency),
                 money(r["arr_at_risk"], currency)]
        if kind == "churn":
            cells.append(money(r["churned_arr"], currency))
        if sentiment:
            cells.append("–" if r.get("sentiment") is None else f"{r['sentiment']:+.2f} ({_pct(r['negative_share'])} neg.)")
        t.add_row(*cells, example)
    return t


def _rank(kind: str, by: str | None, as_of, window_days: int, limit: int, quotes: int, corpus_limit: int,
          no_embeddings: bool, as_json: bool, config_path: Path | None, sentiment: bool = False) -> None:
    from tenure.voc.ranking import ranked

    with _stores(config_path) as (config, wh, session), _progress(as_json) as step:
        since, day = _window(wh, as_of, window_days)
        step(f"grouping texts into {kind} and summing the ARR behind them")
        rows = ranked(wh, session, config, kind, day, limit, by=by, window_days=window_days, quotes=quotes,
                      corpus_limit=corpus_limit, use_embeddings=not no_embeddings, sentiment=sentiment)
    if as_json:
        _json({"kind": kind, "as_of": day, "since": since, "currency": config.reporting_currency,
               "sort": by or ("churned_arr" if kind == "churn" else "arr"), "rows": rows})
        return
    if not rows:
        console.print(f"no {kind} with texts from {since} to {day}")
        return
    what = {"themes": "Themes", "topics": "Topics", "requests": "Feature requests", "churn": "Churn reasons"}[kind]
    sort = by or ("churned_arr" if kind == "churn" else "arr")
    console.print(_rank_table(rows, kind, config.reporting_currency,
                              f"{what} by {sort.replace('_', ' ')}, texts {since} – {day}; ARR as of {day} "
                              f"({config.reporting_currency} per year; at risk = ARR x churn risk)", sentiment))


def rank_cmd(kind: str = typer.Option("themes", "--by", help="themes, topics, requests or churn"),
             sort: str = typer.Option(None, "--sort", help="arr, arr_at_risk, churned_arr, accounts or n "
                                                            "(default: arr; churned_arr for churn)"),
             as_of: str = AsOfOpt, window_days: int = WindowOpt,
             limit: int = typer.Option(20, "--limit", help="rows shown"),
             quotes: int = typer.Option(3, "--quotes", help="example quotes per row"),
             corpus_limit: int = LimitOpt,
             no_embeddings: bool = typer.Option(False, "--no-embeddings", help="no sentence model (requests by "
                                                                               "key only, churn by keywords)"),
             sentiment: bool = typer.Option(False, "--sentiment", help="add each row's mean sentiment (people's "
                                                                       "corrections count over the model's)"),
             as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Themes, topics, feature requests or churn reasons ranked by the ARR behind them and the ARR at
    risk, with example quotes linked to their accounts."""
    _rank(kind, sort, as_of, window_days, limit, quotes, corpus_limit, no_embeddings, as_json, config_path,
          sentiment)


def requests_cmd(sort: str = typer.Option(None, "--sort", help="arr, arr_at_risk, accounts or n"),
                 as_of: str = AsOfOpt, window_days: int = WindowOpt,
                 limit: int = typer.Option(20, "--limit", help="groups shown"),
                 quotes: int = typer.Option(3, "--quotes", help="example requests per group"),
                 corpus_limit: int = LimitOpt,
                 no_embeddings: bool = typer.Option(False, "--no-embeddings", help="group by normalised key only"),
                 as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Feature requests extracted from comments, tickets and notes, grouped, by the ARR behind them."""
    _rank("requests", sort, as_of, window_days, limit, quotes, corpus_limit, no_embeddings, as_json, config_path)


def register(voc_app: typer.Typer) -> None:
    voc_app.add_typer(topics_app, name="topics")
    voc_app.command("correct")(correct_cmd)
    voc_app.command("agreement")(agreement_cmd)
    voc_app.command("churn-reasons")(churn_reasons_cmd)
    voc_app.command("requests")(requests_cmd)
    voc_app.command("rank")(rank_cmd)
