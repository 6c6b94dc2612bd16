"""The public page of a custom survey (no login): one page of questions at a time.

GET  /s/c/{token}   the first page (a new response id for this visit)
POST /s/c/{token}   the page's answers (fields response_id, nonce, state, q_<question>): checked,
                    then the next page the branching gives, or the thanks page when done

No JavaScript is needed: choices are radio buttons and check boxes in fieldsets with legends,
a ranking is a select per option, errors are listed at the top and next to their question
(aria-describedby). Branching is decided on the server (tenure.voc.custom.next_page). The
token is the credential (a signed share link, tenure.voc.custom.read_link); the answers so far
travel signed in the form, and every POST carries the response's nonce (CSRF on a page
without a session). Requests count against the client address and the token (surveys.rate_limit,
tenure.voc.responses.allow). A finished answer set goes to the inbox that
tenure.voc.custom.sync_inbox loads through the ingest path."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tenure.http.auth import client_ip
from tenure.http.context import AppContext
from tenure.voc import custom, responses
from tenure.web.render import render

router = APIRouter(include_in_schema=False)

STATUS_CODES = {"invalid": 404, "expired": 410, "paused": 410, "bad_form": 403, "limited": 429, "errors": 400}


def _show(request: Request, token: str, *, status: str, survey=None, questions=(), response_id: str = "",
          state: str = "", errors=None, values=None, raw=None, done: int = 0, total: int = 0) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    return render(request, "survey_custom.html", status_code=STATUS_CODES.get(status, 200), token=token,
                  status=status, survey=survey, questions=list(questions), response_id=response_id,
                  nonce=custom.nonce(ctx.config, response_id) if response_id else "", state=state,
                  errors=errors or {}, values=values or {}, raw=raw or {}, done=done, total=total,
                  title=survey.title if survey else "Survey")


def _limited(request: Request, ctx: AppContext, token: str) -> bool:
    with ctx.db() as session:
        return not responses.allow(session, ctx.config, responses.rate_keys(ctx.config, client_ip(request), token))


@router.get("/s/c/{token}", response_class=HTMLResponse)
def custom_survey_page(request: Request, token: str) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    if _limited(request, ctx, token):
        return _show(request, token, status="limited")
    status, claim = custom.read_link(ctx.config, token)
    if status != "ok":
        return _show(request, token, status=status)
    survey = ctx.config.custom_surveys[claim.survey_id]
    response_id = custom.new_response_id()
    done, total = custom.progress(survey, {})
    return _show(request, token, status="ask", survey=survey, questions=custom.next_page(survey, {}),
                 response_id=response_id, state=custom.sign_state(ctx.config, response_id, token, {}),
                 done=done, total=total)


@router.post("/s/c/{token}", response_class=HTMLResponse)
async def custom_survey_answer(request: Request, token: str) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    if _limited(request, ctx, token):
        return _show(request, token, status="limited")
    status, claim = custom.read_link(ctx.config, token)
    if status != "ok":
        return _show(request, token, status=status)
    form = await request.form()
    fields = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form.keys()}
    response_id = (fields.get("response_id") or [""])[0]
    so_far = custom.read_state(ctx.config, response_id, token, (fields.get("state") or [""])[0]) \
        if custom.check_nonce(ctx.config, response_id, (fields.get("nonce") or [""])[0]) else None
    if so_far is None:
        return _show(request, token, status="bad_form")
    survey = ctx.config.custom_surveys[claim.survey_id]
    page = custom.next_page(survey, so_far)
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    answers = dict(so_far)
    for q in page:
        raw, err = custom.parse_form(q, fields)
        values[q.id] = raw
        if err is None:
            value, err = custom.check_answer(q, raw)
        if err:
            errors[q.id] = err
        else:
            answers[q.id] = value
    if errors:
        done, total = custom.progress(survey, so_far)
        return _show(request, token, status="errors", survey=survey, questions=page, response_id=response_id,
                     state=custom.sign_state(ctx.config, response_id, token, so_far), errors=errors, values=values,
                     raw=fields, done=done, total=total)
    following = custom.next_page(survey, answers)
    if following:
        done, total = custom.progress(survey, answers)
        return _show(request, token, status="ask", survey=survey, questions=following, response_id=response_id,
                     state=custom.sign_state(ctx.config, response_id, token, answers), done=done, total=total)
    clean = custom.validated(survey, answers, survey_id=claim.survey_id)
    custom.save_finished(ctx.config, claim, response_id, clean)
    return _show(request, token, status="done", survey=survey)
