"""`tenure voc custom ...`: the custom surveys of tenure.yaml and what was answered."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table as RichTable

console = Console()
custom_app = typer.Typer(help="Custom surveys (exit, onboarding, research): questions, branching, answers.",
                         no_args_is_help=True)


def _open(config_path: Path | None):
    from tenure.warehouse import open_project

    return open_project(config_path, write=False)


@custom_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="print as JSON"),
                 config_path: Path = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or "
                                                  "TENURE_CONFIG)")) -> None:
    """The custom surveys of tenure.yaml, and every survey with answers in survey_answers
    (imports too), with their respondents and answers."""
    from tenure.voc.custom import answer_counts

    config, wh = _open(config_path)
    try:
        counts = answer_counts(wh)
    finally:
        wh.close()
    rows = []
    for sid in sorted(set(config.custom_surveys) | set(counts)):
        s = config.custom_surveys.get(sid)
        c = counts.get(sid, {"respondents": 0, "answers": 0, "last_answered": None})
        rows.append({"survey_id": sid, "title": s.title if s else "(imported)", "purpose": s.purpose if s else None,
                     "status": s.status if s else None, "questions": len(s.questions) if s else None,
                     "respondents": c["respondents"], "answers": c["answers"],
                     "last_answered": str(c["last_answered"]) if c["last_answered"] is not None else None})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no custom surveys: define them under custom_surveys in tenure.yaml (docs/voc.md)")
        return
    table = RichTable(title=f"custom surveys ({len(rows)})")
    for col in ("survey", "title", "purpose", "status", "questions", "respondents", "answers", "last answer"):
        table.add_column(col, justify="right" if col in ("questions", "respondents", "answers") else "left")
    for r in rows:
        table.add_row(r["survey_id"], r["title"], r["purpose"] or "", r["status"] or "",
                      "" if r["questions"] is None else f"{r['questions']:,}", f"{r['respondents']:,}",
                      f"{r['answers']:,}", (r["last_answered"] or "")[:16])
    console.print(table)


@custom_app.command("show")
def show_command(survey_id: str = typer.Argument(..., help="the survey's id"),
                 as_json: bool = typer.Option(False, "--json", help="print as JSON"),
                 config_path: Path = typer.Option(None, "--config", help="tenure.yaml")) -> None:
    """One survey's questions with their branching, and the answers per option."""
    from tenure.voc.custom import question_summary

    config, wh = _open(config_path)
    try:
        summary = question_summary(wh, survey_id) if wh.has_table("survey_answers") else []
    finally:
        wh.close()
    survey = config.custom_surveys.get(survey_id)
    if survey is None and not summary:
        from tenure.errors import NotFoundError

        raise NotFoundError(f"no custom survey {survey_id!r} in tenure.yaml and no answers to it; "
                            "`tenure voc custom list` lists them")
    if as_json:
        typer.echo(json.dumps({"survey_id": survey_id,
                               "definition": survey.model_dump() if survey else None,
                               "answers": summary}, indent=2, default=str))
        return
    if survey:
        console.print(f"[bold]{survey.title}[/bold] ({survey.purpose}, {survey.status})")
        for i, q in enumerate(survey.questions, start=1):
            rules = [f"only if {c.question} {_cond(c)}" for c in q.show_if]
            rules += [f"then to {r.to} if {r.when.question} {_cond(r.when)}" for r in q.skip_to]
            extra = f" [{', '.join(q.options)}]" if q.options else (
                f" [{q.scale_min}-{q.scale_max}]" if q.type == "rating" else "")
            page = f" (page {q.page})" if q.page else ""
            console.print(f"  {i}. {q.id} ({q.type}{'' if q.required else ', optional'}){page}: {q.text}{extra}")
            for rule in rules:
                console.print(f"       {rule}")
    table = RichTable(title=f"answers to {survey_id}")
    for col in ("question", "type", "option", "answers", "respondents", "mean"):
        table.add_column(col, justify="right" if col in ("answers", "respondents", "mean") else "left")
    for r in summary:
        mean = "" if r["mean"] is None else f"{r['mean']:.2f}"
        table.add_row(r["question_id"], r["question_type"], r["choice"] or "", f"{int(r['answers']):,}",
                      f"{int(r['respondents']):,}", mean)
    console.print(table if summary else "no answers yet")


def _cond(c) -> str:
    if c.answered is not None:
        return "is answered" if c.answered else "is not answered"
    if c.any_of is not None:
        return "is one of " + ", ".join(c.any_of)
    if c.equals is not None:
        return f"= {c.equals}"
    parts = [f">= {c.at_least:g}"] if c.at_least is not None else []
    parts += [f"<= {c.at_most:g}"] if c.at_most is not None else []
    return " and ".join(parts)


def register(voc_app: typer.Typer) -> None:
    voc_app.add_typer(custom_app, name="custom")


@custom_app.command("link")
def link_command(survey_id: str = typer.Argument(..., help="the survey's id"),
                 account_id: str = typer.Argument(..., help="the master account the answers belong to"),
                 contact: str = typer.Option(None, "--contact", help="the contact answering (a contact_id)"),
                 config_path: Path = typer.Option(None, "--config", help="tenure.yaml")) -> None:
    """Print a link to the survey's public page for an account (signed; it expires after the
    survey's expiry_days)."""
    from tenure.config import load_config
    from tenure.voc.custom import link_for

    config = load_config(config_path)
    token = link_for(config, survey_id, account_id, contact)
    base = (config.web.public_url or "").rstrip("/")
    typer.echo(f"{base}/s/c/{token}")


@custom_app.command("sync")
def sync_command(config_path: Path = typer.Option(None, "--config", help="tenure.yaml")) -> None:
    """Load the answers finished on the public page into survey_answers now (the worker's
    custom-survey-sync job does it every minute)."""
    from tenure.voc.custom import sync_inbox
    from tenure.warehouse import open_project

    config, wh = open_project(config_path)
    try:
        res = sync_inbox(config, wh)
    finally:
        wh.close()
    if res is None:
        console.print("no finished answers waiting")
        return
    console.print(f"loaded {res.inserted:,} new answer(s), {res.unchanged:,} unchanged, {res.rejected:,} refused"
                  + (f" (quarantine: {res.quarantine_path})" if res.quarantine_path else ""))
