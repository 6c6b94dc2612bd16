"""The in-app / web survey channel's endpoints (docs/voc.md "In-app channel").

GET     /embed/survey.js   the widget: one small, dependency-free script from tenure's own static
                           files. It talks only to the origin that served it, sets no cookie and
                           loads nothing else.
GET     /embed/v1/ask      should the widget ask this user now? (tenure.voc.inapp.ask) query:
                           program, user, user_hash, first_seen (YYYY-MM-DD), sessions, locale
POST    /embed/v1/answer   JSON {program, user, user_hash, token, score} records the score, then
                           {program, user, user_hash, response_id, nonce, comment} the comment,
                           through tenure.voc.responses (record_score / record_comment): the public
                           page's path, its rate limit, single use, webhook and sync.
OPTIONS /embed/v1/...      the CORS preflight.

CORS: a request whose Origin is in the program's `inapp.origins` gets
Access-Control-Allow-Origin with that origin (never `*`, never credentials); any other origin is
refused (403) with no CORS header, so a browser on another site can neither call nor read it.
Identity: `user_hash` must be HMAC-SHA256(program secret, user) (tenure.voc.inapp.verify_user),
and an answer's token or response must belong to that user."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import select

from tenure.config import SurveyProgram
from tenure.errors import ConfigError, InputError
from tenure.http.auth import client_ip
from tenure.http.context import AppContext
from tenure.state.models import SurveyInvitation, SurveyResponse
from tenure.voc import inapp, responses
from tenure.voc.tokens import read_invitation_token
from tenure.web.survey_public import STATUS_CODES

router = APIRouter(include_in_schema=False)

SCRIPT = Path(__file__).resolve().parent / "static" / "survey-embed.js"
PREFLIGHT_SECONDS = 600


def _program(ctx: AppContext, name: Any) -> SurveyProgram | None:
    program = ctx.config.surveys.program(str(name)) if isinstance(name, str) else None
    return program if program is not None and program.inapp is not None and "inapp" in program.channels else None


def _all_origins(ctx: AppContext) -> set[str]:
    return {o for p in ctx.config.surveys.programs if p.inapp is not None and "inapp" in p.channels
            for o in p.inapp.origins}


def _origin(request: Request) -> str | None:
    got = request.headers.get("origin")
    return got.strip().lower() if got else None


def _reply(request: Request, status: int, body: dict[str, Any], allowed: set[str]) -> JSONResponse:
    """JSON with CORS headers only for an allowed origin (Vary: Origin either way)."""
    response = JSONResponse(body, status_code=status, headers={"Vary": "Origin", "Cache-Control": "no-store"})
    origin = _origin(request)
    if origin is not None and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


def _refuse_origin(request: Request, program: SurveyProgram | None) -> JSONResponse | None:
    """403 (no CORS header) for a browser on a site the program does not list. Requests without an
    Origin header (the product's own server, same-origin) pass: the user hash is the credential."""
    origin = _origin(request)
    if origin is None or (program is not None and origin in program.inapp.origins):  # type: ignore[union-attr]
        return None
    if program is None and origin in _all_origins(request.app.state.ctx):
        return None
    return JSONResponse({"status": "origin_refused",
                         "detail": f"origin {origin} is not in this program's inapp.origins (tenure.yaml)"},
                        status_code=403, headers={"Vary": "Origin"})


def _limited(ctx: AppContext, request: Request, key: str) -> bool:
    with ctx.db() as session:
        return not responses.allow(session, ctx.config, responses.rate_keys(ctx.config, client_ip(request), key))


@router.get("/embed/survey.js")
def survey_script() -> FileResponse:
    return FileResponse(SCRIPT, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})


@router.options("/embed/v1/{rest:path}")
def preflight(request: Request, rest: str) -> Response:
    ctx: AppContext = request.app.state.ctx
    origin = _origin(request)
    program = _program(ctx, request.query_params.get("program"))
    allowed = set(program.inapp.origins) if program is not None else _all_origins(ctx)  # type: ignore[union-attr]
    if origin is None or origin not in allowed:
        return Response(status_code=403, headers={"Vary": "Origin"})
    return Response(status_code=204, headers={
        "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": str(PREFLIGHT_SECONDS),
        "Vary": "Origin"})


def _verified(request: Request, program: SurveyProgram | None, user: Any, user_hash: Any) -> JSONResponse | None:
    allowed = set(program.inapp.origins) if program is not None else set()  # type: ignore[union-attr]
    if program is None:
        return _reply(request, 404, {"status": "invalid", "detail": "program: no active in-app program of that name "
                                     "(surveys.programs with channels: [inapp])"}, allowed)
    try:
        ok = inapp.verify_user(program, user if isinstance(user, str) else None,
                               user_hash if isinstance(user_hash, str) else None)
    except ConfigError as err:
        return _reply(request, 503, {"status": "unconfigured", "detail": str(err)}, allowed)
    if not ok:
        return _reply(request, 403, {"status": "forbidden", "detail": "user_hash: not the HMAC-SHA256 of user under "
                                     "this program's secret; compute it on your server (docs/voc.md)"}, allowed)
    return None


@router.get("/embed/v1/ask")
def ask(request: Request, program: str = "", user: str = "", user_hash: str = "", first_seen: str = "",
        sessions: str = "", locale: str | None = None) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    prog = _program(ctx, program)
    refused = _refuse_origin(request, prog)
    if refused is not None:
        return refused
    allowed = set(prog.inapp.origins) if prog is not None else set()  # type: ignore[union-attr]
    if _limited(ctx, request, f"inapp:{program}:{user}"):
        return _reply(request, 429, {"status": "limited", "detail": "too many requests; try later"}, allowed)
    bad = _verified(request, prog, user, user_hash)
    if bad is not None:
        return bad
    assert prog is not None
    try:
        seen = date.fromisoformat(first_seen) if first_seen else None
        count = int(sessions) if sessions else None
    except ValueError:
        return _reply(request, 400, {"status": "bad_request", "detail": "first_seen must be YYYY-MM-DD and sessions "
                                     f"a whole number (got {first_seen!r}, {sessions!r})"}, allowed)
    account_id, contact_locale, email = _contact(ctx, user)
    with ctx.db() as session:
        got = inapp.ask(session, ctx.config, prog, contact_id=user, account_id=account_id, first_seen=seen,
                        sessions=count, locale=locale or contact_locale, email=email)
    return _reply(request, 200, got.as_dict(), allowed)


def _contact(ctx: AppContext, contact_id: str) -> tuple[str | None, str | None, str | None]:
    """(account_id, locale, email) of a contact in the warehouse, Nones when unknown."""
    wh = ctx.warehouse()
    c = wh.table("contacts")
    cols = ["account_id", "email"] + (["locale"] if "locale" in c.columns else [])
    rows = wh.to_pyarrow(c.filter(c.contact_id == contact_id).select(*cols).limit(1)).to_pylist()
    return (rows[0]["account_id"], rows[0].get("locale"), rows[0]["email"]) if rows else (None, None, None)


@router.post("/embed/v1/answer")
async def answer(request: Request) -> JSONResponse:
    ctx: AppContext = request.app.state.ctx
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"status": "bad_request", "detail": "the body must be a JSON object"}, status_code=400)
    prog = _program(ctx, body.get("program"))
    refused = _refuse_origin(request, prog)
    if refused is not None:
        return refused
    allowed = set(prog.inapp.origins) if prog is not None else set()  # type: ignore[union-attr]
    token = body.get("token") if isinstance(body.get("token"), str) else None
    if _limited(ctx, request, token or f"inapp:{body.get('program')}:{body.get('user')}"):
        return _reply(request, 429, {"status": "limited", "detail": "too many requests; try later"}, allowed)
    bad = _verified(request, prog, body.get("user"), body.get("user_hash"))
    if bad is not None:
        return bad
    user = body["user"]
    key = responses.project_secret(ctx.config)
    try:
        with ctx.db() as session:
            if token is not None:
                claim = read_invitation_token(key, token)
                owner = session.scalar(select(SurveyInvitation.contact_id).where(
                    SurveyInvitation.invitation_id == claim.invitation_id)) if claim else None
                if owner != user:
                    return _reply(request, 403, {"status": "forbidden", "detail": "token: not an ask made for this "
                                                 "user"}, allowed)
                got = responses.record_score(session, ctx.config, token, body.get("score"))
            else:
                rid = body.get("response_id") if isinstance(body.get("response_id"), str) else None
                owner = session.scalar(select(SurveyResponse.contact_id).where(SurveyResponse.response_id == rid))
                if rid is None or owner != user:
                    return _reply(request, 403, {"status": "forbidden", "detail": "response_id: not a response of "
                                                 "this user"}, allowed)
                comment = body.get("comment") if isinstance(body.get("comment"), str) else None
                got = responses.record_comment(session, ctx.config, rid, body.get("nonce"), comment)
    except InputError as err:
        return _reply(request, 400, {"status": "too_long", "detail": str(err)}, allowed)
    out = {"status": got.status, "response_id": got.response_id, "nonce": got.nonce}
    return _reply(request, STATUS_CODES.get(got.status, 200), out, allowed)
