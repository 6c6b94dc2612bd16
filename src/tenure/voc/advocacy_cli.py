"""`tenure voc advocates`, `tenure voc ask-reference`, `tenure voc reference-requests`,
`tenure voc case-studies`, `tenure voc referrals`, `tenure voc board`: advocacy from the command
line (docs/voc.md "Advocacy"). The service is tenure.voc.advocacy; changes are audited under
--user / TENURE_USER."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")
JsonOpt = typer.Option(False, "--json", help="print the answer as JSON")
UserOpt = typer.Option(None, "--user", envvar="TENURE_USER",
                       help="who you are (a tenure user name; default: the TENURE_USER environment variable)")


def _json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _actor(session, user: str | None) -> str:
    """The audit actor: the user named by --user / TENURE_USER (it must exist), else "cli"."""
    if user:
        from tenure.state.users import get

        get(session, user)
    return user or "cli"


def advocates_cmd(owner: str = typer.Option(None, "--owner", help="one CSM's book (accounts.owner)"),
                  segment: str = typer.Option(None, "--segment"),
                  as_of: str = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: the data's latest day)"),
                  limit: int = typer.Option(20, "--limit", min=1, max=10_000),
                  as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Reference candidates: promoters (latest NPS 9-10) at healthy, renewed customers, not asked
    recently, biggest ARR first, with the reasons each qualifies."""
    from tenure.config import load_config
    from tenure.formats import money
    from tenure.state.db import session_scope
    from tenure.voc.advocacy import candidates
    from tenure.warehouse import connect
    from tenure.warehouse.asof import require_as_of

    config = load_config(config_path)
    with connect(config=config, write=False) as wh, session_scope(config) as session:
        day = require_as_of(wh, as_of)
        found = candidates(wh, config, session, as_of=day, owners=[owner] if owner else None, segment=segment,
                           limit=limit)
    if as_json:
        _json({"as_of": found.as_of, "total": found.total, "rows": found.rows})
        return
    s = config.advocacy
    console.print(f"{found.total} reference candidates on {day} (promoters in the last {s.promoter_max_age_days} "
                  f"days, bands {', '.join(s.healthy_bands)}, at most {s.request_cap} asks per {s.cap_days} days)")
    t = Table(title_justify="left")
    for col in ("#", "contact", "account", "owner", "ARR", "NPS", "why"):
        t.add_column(col, justify="right" if col in ("#", "ARR", "NPS") else "left")
    for r in found.rows:
        t.add_row(str(r["rank"]), f"{r['contact_name'] or r['contact_id']} ({r['contact_id']})",
                  f"{r['account_name'] or ''} ({r['account_id']})", r["owner"] or "–",
                  money(r["arr"], config.reporting_currency), str(r["nps_score"]), "; ".join(r["reasons"][1:-1]))
    console.print(t)


def ask_reference_cmd(contact: str = typer.Argument(..., help="the contact id"),
                      team: str = typer.Option(..., "--team", help="the team asking, e.g. sales-emea"),
                      opportunity: str = typer.Option(None, "--opportunity", help="the opportunity id"),
                      prospect: str = typer.Option(None, "--prospect", help="the prospect's company"),
                      purpose: str = typer.Option("", "--purpose", help="what the reference is for"),
                      user: str = UserOpt, as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Ask a contact for a reference; refused when the contact is at the fatigue ledger's cap
    (the message says when it is next available)."""
    from tenure.config import load_config
    from tenure.state.db import session_scope
    from tenure.voc.advocacy import contact_account, request_dict, request_reference
    from tenure.warehouse import connect

    config = load_config(config_path)
    with connect(config=config, write=False) as wh:
        found = contact_account(wh, contact)
    with session_scope(config) as session:
        actor = _actor(session, user)
        r, created = request_reference(session, contact_id=contact, account_id=found["account_id"], team=team,
                                       requested_by=actor, opportunity_id=opportunity, prospect=prospect,
                                       purpose=purpose, settings=config.advocacy)
        out = request_dict(r)
    if as_json:
        _json(out)
    else:
        console.print(f"{'requested' if created else 'already requested'}: reference request {out['id']} of "
                      f"{contact} ({found['account_id']}) for {opportunity or prospect}, team {team}")


def requests_cmd(status: str = typer.Option(None, "--status", help="requested, accepted, declined, completed, "
                                            "withdrawn"),
                 contact: str = typer.Option(None, "--contact"), limit: int = typer.Option(50, "--limit", min=1),
                 as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Reference requests, newest first."""
    from tenure.config import load_config
    from tenure.state.db import session_scope
    from tenure.voc.advocacy import list_requests

    config = load_config(config_path)
    with session_scope(config) as session:
        found = list_requests(session, contact_id=contact, status=[status] if status else None, limit=limit)
    if as_json:
        _json({"total": found.total, "rows": found.rows})
        return
    console.print(f"{found.total} reference requests")
    t = Table(title_justify="left")
    for col in ("id", "contact", "account", "team", "by", "for", "status", "asked"):
        t.add_column(col)
    for r in found.rows:
        t.add_row(str(r["id"]), r["contact_id"], r["account_id"], r["team"], r["requested_by"],
                  r["opportunity_id"] or r["prospect"] or "–", r["status"], f"{r['requested_at']:%Y-%m-%d}")
    console.print(t)


def request_status_cmd(request_id: int = typer.Argument(...), status: str = typer.Argument(
                           ..., help="accepted, declined, completed or withdrawn"),
                       note: str = typer.Option(None, "--note"), user: str = UserOpt,
                       config_path: Path = ConfigOpt) -> None:
    """Move a reference request (requested -> accepted/declined/withdrawn -> completed)."""
    from tenure.config import load_config
    from tenure.state.db import session_scope
    from tenure.voc.advocacy import set_request_status

    config = load_config(config_path)
    with session_scope(config) as session:
        r = set_request_status(session, request_id, status, note=note, actor=_actor(session, user))
        console.print(f"reference request {r.id}: {r.status}")


def case_studies_cmd(stage: str = typer.Option(None, "--stage"), as_json: bool = JsonOpt,
                     config_path: Path = ConfigOpt) -> None:
    """The case-study pipeline: counts per stage and the case studies, most recently moved first."""
    from tenure.config import load_config
    from tenure.state.db import session_scope
    from tenure.voc.advocacy import list_case_studies, pipeline_counts

    config = load_config(config_path)
    with session_scope(config) as session:
        counts = pipeline_counts(session, settings=config.advocacy)
        found = list_case_studies(session, stage=stage, limit=200)
    if as_json:
        _json({"stages": counts, "total": found.total, "rows": found.rows})
        return
    console.print(" → ".join(f"{c['stage']} {c['count']}" for c in counts))
    for r in found.rows:
        console.print(f"{r['id']}: {r['title']} — {r['account_id']}, {r['stage']} since {r['stage_at']:%Y-%m-%d}")


def move_case_study_cmd(case_study_id: int = typer.Argument(...), stage: str = typer.Argument(...),
                        note: str = typer.Option(None, "--note"), url: str = typer.Option(None, "--url"),
                        user: str = UserOpt, config_path: Path = ConfigOpt) -> None:
    """Move a case study to another stage of advocacy.case_study_stages (or dropped)."""
    from tenure.config import load_config
    from tenure.state.db import session_scope
    from tenure.voc.advocacy import move_case_study

    config = load_config(config_path)
    with session_scope(config) as session:
        cs = move_case_study(session, case_study_id, stage, note=note, url=url, settings=config.advocacy,
                             actor=_actor(session, user))
        console.print(f"case study {cs.id}: {cs.stage}")


def referrals_cmd(day: str = typer.Option(None, "--day", help="the day ARR is read on (default: the data's day)"),
                  as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Referrals and the ARR the linked ones bring (tenure.metrics.arr on the day)."""
    from tenure.config import load_config
    from tenure.formats import money
    from tenure.state.db import session_scope
    from tenure.voc.advocacy import list_referrals, referral_arr
    from tenure.warehouse import connect
    from tenure.warehouse.asof import require_as_of

    config = load_config(config_path)
    with connect(config=config, write=False) as wh, session_scope(config) as session:
        on = require_as_of(wh, day)
        found = list_referrals(session, limit=500)
        arr = referral_arr(wh, config, session, day=on, ids=[r["id"] for r in found.rows])
    for r in found.rows:
        r["arr"] = arr["by_referral"].get(r["id"])
    if as_json:
        _json({"day": on, "total_arr": arr["total_arr"], "total": found.total, "rows": found.rows})
        return
    console.print(f"{found.total} referrals; {arr['won']} became customers, bringing "
                  f"{money(arr['total_arr'], config.reporting_currency)} ARR on {on}")
    for r in found.rows:
        console.print(f"{r['id']}: {r['company']} — referred by {r['account_id']}, {r['status']}"
                      + (f", account {r['referred_account_id']} ARR {money(r['arr'], config.reporting_currency)}"
                         if r["referred_account_id"] else ""))


def board_cmd(board: str = typer.Option(None, "--board"), active: bool = typer.Option(False, "--active"),
              as_json: bool = JsonOpt, config_path: Path = ConfigOpt) -> None:
    """Advisory-board members (--active: terms that include today)."""
    from tenure.config import load_config
    from tenure.state.db import session_scope
    from tenure.state.models import utcnow
    from tenure.voc.advocacy import list_members

    config = load_config(config_path)
    with session_scope(config) as session:
        found = list_members(session, board=board, active_on=utcnow().date() if active else None, limit=1000)
    if as_json:
        _json({"total": found.total, "rows": found.rows})
        return
    for r in found.rows:
        console.print(f"{r['id']}: {r['board']} — {r['contact_id']} ({r['account_id']}), {r['term_start']} to "
                      f"{r['term_end'] or 'open-ended'}{' (active)' if r['active'] else ''}")


def register(voc_app: typer.Typer) -> None:
    voc_app.command("advocates")(advocates_cmd)
    voc_app.command("ask-reference")(ask_reference_cmd)
    voc_app.command("reference-requests")(requests_cmd)
    voc_app.command("reference-status")(request_status_cmd)
    voc_app.command("case-studies")(case_studies_cmd)
    voc_app.command("move-case-study")(move_case_study_cmd)
    voc_app.command("referrals")(referrals_cmd)
    voc_app.command("board")(board_cmd)

