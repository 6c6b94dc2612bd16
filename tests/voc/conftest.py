"""A tiny surveyed company for the survey tests (no demo build): four accounts and six contacts
loaded through `tenure ingest`'s own path into DuckDB, a SQLite state DB, and two programs.

    acct-1 Enterprise  c1 champion  ana@one.example   de-AT  Europe/Vienna
                       c2 user      bo@one.example    (no locale)
    acct-2 SMB         c3 champion  cy@two.example    fr
                       c4 billing   dee@two.example   (billing: not in the audience)
    acct-3 SMB         c5 champion  (no email)
    acct-4 Enterprise  c6 champion  old@four.example  left (active_to in the past)

Program `rel-nps` (relationship, every 90 days, roles champion+user): asks c1, c2, c3 (3).
Program `support-csat` (transactional, link channel too): asks only when a playbook says so."""

from __future__ import annotations

from pathlib import Path

import pytest

SURVEYS = """
web:
  public_url: http://surveys.test
notify:
  send_window: null
surveys:
  throttle_days: 30
  webhook_url: http://hooks.test/survey
  rate_limit: {per_address: 40, per_token: 6, window_minutes: 1440}  # one window: no boundary mid-test
  programs:
    - name: rel-nps
      kind: nps
      title: Relationship NPS
      trigger: {type: relationship, every_days: 90}
      audience: {roles: [champion, user], statuses: []}
      reminder_days: 3
      expiry_days: 14
      text:
        en: {question: "How likely are you to recommend {project} to a colleague?",
             follow_up: "What is the main reason for your score?"}
        de: {question: "Wie wahrscheinlich ist es, dass Sie {project} empfehlen?",
             follow_up: "Was ist der wichtigste Grund?"}
    - name: support-csat
      kind: csat
      touchpoint: support
      channels: [email, link]
      trigger: {type: transactional}
      audience: {roles: [champion], statuses: []}
      text:
        en: {question: "How satisfied were you with our support?"}
"""

ACCOUNTS = """account_id,name,segment,tier
acct-1,One GmbH,Enterprise,high
acct-2,Two SARL,SMB,tech
acct-3,Three Ltd,SMB,tech
acct-4,Four Inc,Enterprise,high
"""

CONTACTS = """contact_id,account_id,email,name,role,active_from,active_to,timezone,locale
c1,acct-1,ana@one.example,Ana,champion,2024-01-01,,Europe/Vienna,de-AT
c2,acct-1,bo@one.example,Bo,user,2024-01-01,,,
c3,acct-2,cy@two.example,Cy,champion,2024-01-01,,,fr
c4,acct-2,dee@two.example,Dee,billing,2024-01-01,,,
c5,acct-3,,Eve,champion,2024-01-01,,,
c6,acct-4,old@four.example,Old,champion,2024-01-01,2024-06-30,,
"""


def build_project(folder: Path) -> Path:
    from tenure.config import load_config, write_default_config
    from tenure.ingest.pipeline import ingest_file
    from tenure.state.db import upgrade
    from tenure.warehouse import connect

    import yaml

    path = write_default_config(folder)
    data = yaml.safe_load(path.read_text())  # the default file, with the surveys' settings merged in
    extra = yaml.safe_load(SURVEYS)
    data["surveys"] = extra["surveys"]
    for section in ("web", "notify"):
        data[section] = {**data.get(section, {}), **extra[section]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    (folder / "accounts.csv").write_text(ACCOUNTS)
    (folder / "contacts.csv").write_text(CONTACTS)
    config = load_config(path)
    upgrade(config)
    wh = connect(config=config)
    try:
        wh.ensure_schema()
        for entity in ("accounts", "contacts"):
            res = ingest_file(wh, config, entity, folder / f"{entity}.csv", source="test")
            assert res.rejected == 0, res.to_dict()
    finally:
        wh.close()
    return path


@pytest.fixture(scope="session")
def survey_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.sites import built_once

    return built_once(tmp_path_factory, "voc-surveys-v4", build_project)


@pytest.fixture
def project(survey_built: Path, tmp_path: Path):
    """This test's copy of the tiny surveyed company: (config, folder)."""
    from tenure.config import load_config
    from tests.sites import copy_site

    copy_site(survey_built, tmp_path / "p")
    return load_config(tmp_path / "p" / "tenure.yaml")


@pytest.fixture
def wh_read(project):
    from tenure.warehouse import connect

    wh = connect(config=project, write=False)
    yield wh
    wh.close()
