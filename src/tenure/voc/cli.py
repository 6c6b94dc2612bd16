"""`tenure voc`: the voice of the customer's commands.

Each part of the stage keeps its commands in a module of its own (surveys, custom surveys, text
analytics, curation and ranking, closing the loop and validation, advocacy), each exposing
`register(voc_app)`; this module only assembles them under one `tenure voc` group."""

from __future__ import annotations

import typer

voc_app = typer.Typer(
    help="Voice of the customer: survey programs and waves, scores, sentiment and themes, "
    "topics, feature requests and churn reasons ranked by ARR, closing the loop, advocacy.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    from tenure.voc import advocacy_cli, curation_cli, custom_cli, loop_cli, surveys_cli, text_cli

    for part in (surveys_cli, custom_cli, text_cli, curation_cli, loop_cli, advocacy_cli):
        part.register(voc_app)
    app.add_typer(voc_app, name="voc")
