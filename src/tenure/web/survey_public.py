"""The public survey page: what the score links in a survey email open (no login).

GET  /s/{token}?score=N   records the score at once (one click from the email), then shows the
                          optional comment form; without a score it shows the scale as links.
POST /s/{token}/comment   the comment (fields response_id, nonce, comment).
GET  /s/{link token}      a share link (one per program and account, `tenure voc link`): a form
POST /s/{link token}      asking for an email address and a score, then the comment form.

No JavaScript is needed (links and plain forms), labels are real <label>s and the scale is a
list of links with accessible names. The signed token is the credential (tenure.voc.tokens); a
forged, edited, used or expired link gets a plain message. The comment form carries a nonce
derived from the response (CSRF on a page without a session). Every request counts against the
client address and the token (surveys.rate_limit; 429 when over). The page only calls
tenure.voc.responses: the demo's simulated answers call the same functions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tenure.errors import InputError
from tenure.http.auth import client_ip
from tenure.http.context import AppContext
from tenure.notify.signing import project_secret
from tenure.voc import responses
from tenure.voc.tokens import read_link_token
from tenure.web.render import render

router = APIRouter(include_in_schema=False)

STATUS_CODES = {"invalid": 404, "expired": 410, "bad_score": 400, "bad_email": 400, "bad_form": 403,
                "closed": 410, "paused": 410, "limited": 429}


def _page(request: Request, answer: responses.Answer | None, token: str, *, status: str | None = None,
          comment: str | None = None, link: bool = False) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    page = answer.page(ctx.config) if answer is not None else {"status": status}
    status = status or page["status"]
    page["status"] = status
    return render(request, "survey.html", status_code=STATUS_CODES.get(status, 200), token=token, survey=page,
                  comment=comment, link=link, title="Survey")


def _limited(request: Request, ctx: AppContext, session, token: str | None) -> bool:
    return not responses.allow(session, ctx.config, responses.rate_keys(ctx.config, client_ip(request), token))


@router.get("/s/{token}", response_class=HTMLResponse)
def survey_page(request: Request, token: str, score: str | None = None) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    with ctx.db() as session:
        if _limited(request, ctx, session, token):
            return _page(request, None, token, status="limited")
    with ctx.db() as session:
        if token.startswith("L"):
            got = read_link_token(project_secret(ctx.config), token)
            program = ctx.config.surveys.program(got[0]) if got else None
            if program is None or "link" not in program.channels:
                return _page(request, None, token, status="invalid")
            answer = responses.Answer("ask" if program.status == "active" else "paused", program)
            return _page(request, answer, token, link=True)
        if score is None:
            answer = responses.lookup(session, ctx.config, token)
        else:
            answer = responses.record_score(session, ctx.config, token, score)
    return _page(request, answer, token)


@router.post("/s/{token}", response_class=HTMLResponse)
async def share_link_answer(request: Request, token: str) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    form = await request.form()
    with ctx.db() as session:
        if _limited(request, ctx, session, token):
            return _page(request, None, token, status="limited")
    wh = ctx.warehouse()

    def contact_of(account_id: str, email: str) -> str | None:
        c = wh.table("contacts")
        rows = wh.to_pyarrow(c.filter((c.account_id == account_id) & (c.email.lower() == email))
                             .select("contact_id").limit(1)).to_pylist()
        return rows[0]["contact_id"] if rows else None

    with ctx.db() as session:
        answer = responses.link_answer(session, ctx.config, token, form.get("score"), form.get("email"),
                                       wh_contacts=contact_of)
    return _page(request, answer, token, link=answer.status != "recorded")


@router.post("/s/{token}/comment", response_class=HTMLResponse)
async def survey_comment(request: Request, token: str) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    form = await request.form()
    with ctx.db() as session:
        if _limited(request, ctx, session, token):
            return _page(request, None, token, status="limited")
    comment = form.get("comment") if isinstance(form.get("comment"), str) else None
    try:
        with ctx.db() as session:
            answer = responses.record_comment(session, ctx.config, form.get("response_id"), form.get("nonce"), comment)
    except InputError as err:
        return render(request, "survey.html", status_code=400, token=token, survey={"status": "too_long"},
                      comment=None, link=False, title="Survey", error=str(err))
    return _page(request, answer, token, comment=comment if answer.status == "commented" else None)
