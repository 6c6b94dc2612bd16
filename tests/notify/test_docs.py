"""docs/operations.md names every notify and worker setting and every `tenure outbox` command."""

from __future__ import annotations

from pathlib import Path

from tenure.config import NotifySettings, SendWindow, SmtpSettings, WorkerJobSettings, WorkerSettings
from tenure.notify.cli import outbox_app

DOC = (Path(__file__).parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")


def test_every_notify_and_worker_setting_is_in_operations_md():
    missing = [f"{model.__name__}.{name}" for model in (NotifySettings, SmtpSettings, SendWindow, WorkerSettings,
                                                        WorkerJobSettings)
               for name in model.model_fields if f"{name}" not in DOC]
    assert missing == []


def test_every_outbox_command_is_in_operations_md():
    names = [c.name or c.callback.__name__ for c in outbox_app.registered_commands]
    assert sorted(n for n in names if f"tenure outbox {n}" not in DOC) == []
