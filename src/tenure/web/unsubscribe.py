"""The public unsubscribe page: what a List-Unsubscribe link in an automated email opens.

GET /unsubscribe?token=T shows whose address and which category the link is for, with a button
(POST). POST /unsubscribe?token=T suppresses it (tenure.notify.outbox.suppress, audited): from
the page's form, or in one click from a mail client (RFC 8058: a POST with the body
`List-Unsubscribe=One-Click`, no cookies, no session). No login and no CSRF token: the signed
token (tenure.notify.signing) is the credential, and it names one address, so a forged or
edited link does nothing (400) and a link can only unsubscribe the person it was sent to.
Repeating it is harmless (the suppression exists already)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from tenure.http.context import AppContext
from tenure.notify import outbox
from tenure.notify.signing import project_secret, read_unsubscribe_token
from tenure.web.render import render

router = APIRouter(include_in_schema=False)

PATH = "/unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"
MAX_TOKEN = 1024


def _read(ctx: AppContext, token: str | None) -> tuple[str, str] | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    return read_unsubscribe_token(project_secret(ctx.config), token)


def _invalid(request: Request) -> HTMLResponse:
    return render(request, "unsubscribe.html", status_code=400, invalid=True, token="", address=None,
                  category=None, done=False, already=False)


def _already(ctx: AppContext, address: str, category: str) -> bool:
    with ctx.db() as session:
        found = outbox.suppressed(session, [address])
    return outbox.is_suppressed(found, address, None if category == outbox.ALL_CATEGORIES else category)


@router.get(PATH, response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str | None = None) -> HTMLResponse:
    ctx: AppContext = request.app.state.ctx
    got = _read(ctx, token)
    if got is None:
        return _invalid(request)
    address, category = got
    return render(request, "unsubscribe.html", invalid=False, token=token, address=address,
                  category=None if category == outbox.ALL_CATEGORIES else category, done=False,
                  already=_already(ctx, address, category))


@router.post(PATH)
async def unsubscribe(request: Request, token: str | None = None):
    """Suppress the token's address in its category (or in every category when the page's
    form asks `scope=all`). A one-click POST from a mail client gets a short text answer."""
    ctx: AppContext = request.app.state.ctx
    form = await request.form()
    token = token or (form.get("token") if isinstance(form.get("token"), str) else None)
    one_click = form.get("List-Unsubscribe") == "One-Click"
    got = _read(ctx, token)
    if got is None:
        if one_click:
            return PlainTextResponse("this unsubscribe link is not valid", status_code=400)
        return _invalid(request)
    address, category = got
    if form.get("scope") == "all":
        category = outbox.ALL_CATEGORIES
    cat = None if category == outbox.ALL_CATEGORIES else category
    with ctx.db() as session:
        outbox.suppress(session, address, cat, reason="one-click unsubscribe" if one_click else "unsubscribe page",
                        actor=f"unsubscribe:{address}")
    if one_click:
        return PlainTextResponse(f"unsubscribed {address} from {cat or 'all automated email'}")
    return render(request, "unsubscribe.html", invalid=False, token=token, address=address, category=cat,
                  done=True, already=False)
