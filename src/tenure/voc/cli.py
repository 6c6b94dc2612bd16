"""`tenure voc`: the voice of the customer's commands.

Each part of the stage keeps its commands in a module of its own (surveys, text analytics,
curation, loop and validation, advocacy) exposing `register(voc_app)`; this module only
assembles them under one `tenure voc` group."""

from __future__ import annotations

import importlib

import typer

voc_app = typer.Typer(
    help="Voice of the customer: survey programs and waves, scores, sentiment and themes, "
    "topics, feature requests and churn reasons ranked by ARR, closing the loop, advocacy.",
    no_args_is_help=True,
)

# Modules that add commands to `tenure voc` (each has register(voc_app)); a part not written
# yet is simply absent.
PARTS = (
    "tenure.voc.surveys_cli",
    "tenure.voc.custom_cli",
    "tenure.voc.text_cli",
    "tenure.voc.curation_cli",
    "tenure.voc.loop_cli",
    "tenure.voc.advocacy_cli",
)


def register(app: typer.Typer) -> None:
    for name in PARTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            continue
        module.register(voc_app)
    app.add_typer(voc_app, name="voc")
