"""The playbook action `send_survey`: a transactional survey sent when a playbook fires (after a
ticket is resolved, an onboarding milestone is reached, ...), in the playbook's own transaction.

Registered in the playbook action registry (tenure.playbooks.actions.register_action) when this
module is imported: the composition roots that load playbooks (the CLI's `tenure voc` part, the
worker's job list, the web app's survey page) import it."""

from __future__ import annotations

from pydantic import Field

from tenure.playbooks.actions import ActionContext, ActionParams, ActionType, register_action


class SendSurvey(ActionParams):
    """Invite contacts to a survey program now (email; throttle and unsubscribes apply)."""

    program: str = Field(..., min_length=1, max_length=100, description="a program in tenure.yaml surveys.programs")
    roles: list[str] = Field(default_factory=lambda: ["champion", "exec_sponsor", "user"],
                             description="without a playbook contact: the account's active contacts of these roles")


def send_survey(ctx: ActionContext, p: SendSurvey, step: str) -> list[dict]:
    from tenure.voc.programs import get_program
    from tenure.voc.send import SendReport, invite

    program = get_program(ctx.config, p.program)
    people = [ctx.contact] if ctx.contact else [c for c in ctx.contacts if c.get("role") in p.roles]
    people = [{**c, "account_id": ctx.account["account_id"], "account_name": ctx.account.get("name")}
              for c in people if c]
    if not people:
        return [{"kind": "survey", "program": p.program, "skipped": "no contact of roles " + ", ".join(p.roles)}]
    if ctx.dry_run:
        return [{"kind": "survey", "program": p.program, "contact_id": c.get("contact_id"), "to": c.get("email")}
                for c in people]
    if program.status != "active":
        return [{"kind": "survey", "program": p.program, "skipped": "the program is paused"}]
    if "email" not in program.channels:  # asked in-app or by share link only: nothing to send
        return [{"kind": "survey", "program": p.program, "skipped": "the program has no email channel"}]
    report = SendReport(program.name)
    made = invite(ctx.session, ctx.config, program, people, trigger=f"playbook:{ctx.playbook.name}", now=ctx.now,
                  report=report, check_recent=False,
                  occurrence=lambda r: ctx.key(step, str(r.get("contact_id") or r.get("email"))))
    out = [{"kind": "survey", "program": p.program, "contact_id": m["contact_id"], "invitation_id": m["invitation_id"],
            "created": True} for m in made]
    skipped = {k: v for k, v in report.as_dict().items() if k in ("throttled", "suppressed", "no_email",
                                                                  "already_invited") and v}
    if skipped:
        out.append({"kind": "survey", "program": p.program,
                    "skipped": ", ".join(f"{k} {v}" for k, v in skipped.items())})
    return out


SEND_SURVEY = register_action(ActionType("send_survey", SendSurvey, send_survey,
                                         "send a survey program's invitation now (email, throttled)"))
