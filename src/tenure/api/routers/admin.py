"""Who am I (any authenticated caller), and for administrators: users, API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import func, select

from tenure.http.auth import Access, Principal, allowed, client_ip, current_principal, policy, require
from tenure.http.context import AppContext, get_context
from tenure.api.routers.common import paginated
from tenure.api.schemas import (
    COMMON_PROBLEMS, USERNAME_PATTERN, AuditEntry, Me, Paginated, TokenCreated, TokenIn, TokenOut, UserCreated,
    UserIn, UserOut, problem_responses,
)
from tenure.state import tokens, users
from tenure.state.models import AuditLog

router = APIRouter(tags=["admin"], responses=COMMON_PROBLEMS)
Username = Path(pattern=USERNAME_PATTERN)


@router.get("/me", response_model=Me, summary="Who am I")
def me(who: Principal = Depends(current_principal)):
    """The caller's user, role, effective permissions (a token can narrow them) and book of business."""
    owners = policy(who).owners
    return {"username": who.username, "full_name": who.full_name, "role": who.role,
            "permissions": sorted(who.permissions), "scope": "all" if owners is None else "owners",
            "owners": owners, "via": who.via}


@router.get("/users", response_model=list[UserOut], summary="Users")
def list_users(who: Principal = Depends(require("admin")), ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        return users.list_users(session)


@router.post("/users", response_model=UserCreated, status_code=201, responses=problem_responses(404),
             summary="Add a user")
def add_user(request: Request, body: UserIn, who: Principal = Depends(require("admin")),
             ctx: AppContext = Depends(get_context)):
    """Create a user (audit-logged). Without a password one is generated and returned once."""
    password = body.password or users.generate_password()
    with ctx.db() as session:
        user = users.create_user(session, body.username, password, body.role, email=body.email,
                                 full_name=body.full_name, manager=body.manager, csm_key=body.csm_key,
                                 actor=who.username)
        out = {c: getattr(user, c) for c in UserOut.model_fields}
        _stamp_ip(session, request)
    return {**out, "password": None if body.password else password}


def _stamp_ip(session, request: Request) -> None:
    """Put the caller's address on the audit rows this request added (the state layer records
    who and what; the web layer knows where from)."""
    for obj in session.new:
        if isinstance(obj, AuditLog) and obj.ip is None:
            obj.ip = client_ip(request)


@router.post("/users/{username}/disable", response_model=UserOut, responses=problem_responses(404),
             summary="Disable a user (ends its sessions; its tokens stop working)")
def disable_user(request: Request, username: str = Username, who: Principal = Depends(require("admin")),
                 ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        users.disable(session, username, actor=who.username)
        _stamp_ip(session, request)
        user = users.get(session, username)
        return {c: getattr(user, c) for c in UserOut.model_fields}


@router.get("/tokens", response_model=list[TokenOut], summary="API tokens (never their secrets)")
def list_tokens(who: Principal = Depends(require("admin")), ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        return tokens.list_tokens(session)


@router.post("/tokens", response_model=TokenCreated, status_code=201, responses=problem_responses(404),
             summary="Create an API token for a user")
def create_token(request: Request, body: TokenIn, who: Principal = Depends(require("admin")),
                 ctx: AppContext = Depends(get_context)):
    """The secret is returned once; only its hash is stored. Scopes narrow the user's role."""
    with ctx.db() as session:
        token, secret = tokens.create_token(session, body.username, body.name, list(dict.fromkeys(body.scopes)),
                                            expires_days=body.expires_days, actor=who.username)
        _stamp_ip(session, request)
        row = next(t for t in tokens.list_tokens(session) if t["id"] == token.id)
    return {**row, "secret": secret}


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response, responses=problem_responses(404),
               summary="Revoke an API token")
def revoke_token(request: Request, token_id: int = Path(ge=1, le=2**31 - 1), who: Principal = Depends(require("admin")),
                 ctx: AppContext = Depends(get_context)):
    with ctx.db() as session:
        tokens.revoke(session, token_id, actor=who.username)
        _stamp_ip(session, request)
    return Response(status_code=204)


@router.get("/audit", response_model=Paginated[AuditEntry], summary="The audit log, newest first")
def audit_log(actor: str | None = Query(None, max_length=100), entity: str | None = Query(None, max_length=50),
              action: str | None = Query(None, max_length=50), entity_id: str | None = Query(None, max_length=100),
              since: datetime | None = None,
              page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=500),
              acc: Access = Depends(allowed("admin")), ctx: AppContext = Depends(get_context)):
    """Who changed what, when, from where, with the values before and after."""
    acc.records("audit")
    q = select(AuditLog)
    for col, value in ((AuditLog.actor, actor), (AuditLog.entity, entity), (AuditLog.action, action),
                       (AuditLog.entity_id, entity_id)):
        if value is not None:
            q = q.where(col == value)
    if since is not None:
        q = q.where(AuditLog.at >= (since.astimezone(timezone.utc).replace(tzinfo=None) if since.tzinfo else since))
    with ctx.db() as session:
        total = session.scalar(select(func.count()).select_from(q.subquery()))
        rows = session.scalars(q.order_by(AuditLog.id.desc()).offset((page - 1) * page_size).limit(page_size)).all()
        items = [{c: getattr(r, c) for c in AuditEntry.model_fields} for r in rows]
    return paginated(items, total, page, page_size)
