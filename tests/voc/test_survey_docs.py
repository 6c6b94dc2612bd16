"""docs/voc.md "Surveys" names every survey setting and every survey command, and the default
tenure.yaml's commented example is a valid program."""

from __future__ import annotations

from pathlib import Path

import yaml

from tenure.config import (DEFAULT_CONFIG_YAML, SurveyAudience, SurveyProgram, SurveyRateLimit, SurveySettings,
                           SurveyText, SurveyTrigger, config_from_dict)

DOC = (Path(__file__).parents[2] / "docs" / "voc.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## Surveys"):]


def test_every_survey_setting_is_in_voc_md():
    models = (SurveySettings, SurveyProgram, SurveyText, SurveyAudience, SurveyTrigger, SurveyRateLimit)
    assert [f"{m.__name__}.{n}" for m in models for n in m.model_fields if n not in SECTION] == []


def test_every_survey_command_is_in_voc_md():
    import typer

    from tenure.voc import surveys_cli

    app = typer.Typer()
    surveys_cli.register(app)
    names = [c.callback.__name__.removesuffix("_cmd") for c in app.registered_commands]
    assert sorted(n for n in names if f"tenure voc {n}" not in SECTION) == []


def test_the_default_files_commented_example_is_valid():
    lines = DEFAULT_CONFIG_YAML[DEFAULT_CONFIG_YAML.index("# surveys:"):].split("\n\n")[0].splitlines()
    block = yaml.safe_load("\n".join(line[2:].split("  #")[0] if line.startswith("# ") else "" for line in lines))
    config = config_from_dict(block)
    assert [p.name for p in config.surveys.programs] == ["relationship-nps"]
