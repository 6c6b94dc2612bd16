"""`tenure db`, `tenure users`, `tenure tokens`: the state DB and who may use tenure."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()
db_app = typer.Typer(help="Migrations of the state DB (users, tokens, audit log, runs) and the warehouse tables.",
                      no_args_is_help=True)
users_app = typer.Typer(help="Users and roles (admin, executive, manager, csm, viewer).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for the REST API (hashed at rest, scoped, revocable).",
                         no_args_is_help=True)

ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def _config(path: Path | None):
    from tenure.config import load_config

    return load_config(path)


@db_app.command("upgrade")
def db_upgrade(config_path: Path = ConfigOpt) -> None:
    """Create or upgrade the state DB and the warehouse tables to the latest schema (safe to re-run)."""
    from tenure.state.db import upgrade
    from tenure.warehouse import connect
    from tenure.warehouse.migrations import current_version

    config = _config(config_path)
    console.print(f"state DB at revision [bold]{upgrade(config)}[/bold] ({config.state_url.split('?')[0]})")
    with connect(config=config) as wh:
        applied = wh.ensure_schema()
        console.print(f"warehouse at schema version [bold]{current_version(wh)}[/bold] "
                      f"({len(applied)} step(s) applied)")


@db_app.command("current")
def db_current(config_path: Path = ConfigOpt) -> None:
    """Show the state DB's migration revision and the latest one."""
    from tenure.state.db import current_revision, head_revision

    config = _config(config_path)
    console.print(f"current: {current_revision(config) or '(empty)'}; latest: {head_revision()}")


@users_app.command("add")
def users_add(
    username: str,
    role: str = typer.Option(..., "--role", help="admin, executive, manager, csm or viewer"),
    email: str = typer.Option(None, "--email"),
    manager: str = typer.Option(None, "--manager", help="username of the user's manager (team scoping)"),
    csm_key: str = typer.Option(None, "--csm-key", help="value of accounts.owner for this CSM (default: username)"),
    password: str = typer.Option(None, "--password", help="default: a generated one, printed once"),
    config_path: Path = ConfigOpt,
) -> None:
    """Add a user."""
    from tenure.state import users
    from tenure.state.db import session_scope

    secret = password or users.generate_password()
    with session_scope(_config(config_path)) as session:
        users.create_user(session, username, secret, role, email=email, manager=manager, csm_key=csm_key,
                          actor="cli")
    console.print(f"added {username} ({role})" + ("" if password else f"; password: [bold]{secret}[/bold]"))


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json"), config_path: Path = ConfigOpt) -> None:
    """List users."""
    from tenure.state import users
    from tenure.state.db import session_scope

    with session_scope(_config(config_path)) as session:
        rows = users.list_users(session)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="users")
    for col in ("username", "role", "email", "csm_key", "active"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["username"], r["role"], r["email"] or "", r["csm_key"] or "", "yes" if r["active"] else "no")
    console.print(table)


@users_app.command("disable")
def users_disable(username: str, config_path: Path = ConfigOpt) -> None:
    """Disable a user (they can no longer log in or use their tokens)."""
    from tenure.state import users
    from tenure.state.db import session_scope

    with session_scope(_config(config_path)) as session:
        users.disable(session, username, actor="cli")
    console.print(f"disabled {username}")


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: str = typer.Option(..., "--name", help="what the token is for"),
    scope: list[str] = typer.Option(["read"], "--scope", help="read, write or admin (repeatable)"),
    expires_days: int = typer.Option(None, "--expires-days"),
    config_path: Path = ConfigOpt,
) -> None:
    """Create an API token; the secret is printed once and stored only as a hash."""
    from tenure.state import tokens
    from tenure.state.db import session_scope

    with session_scope(_config(config_path)) as session:
        token, secret = tokens.create_token(session, username, name, scope, expires_days, actor="cli")
        token_id = token.id
    console.print(f"token {token_id} for {username}: [bold]{secret}[/bold] (shown once)")


@tokens_app.command("revoke")
def tokens_revoke(token_id: int, config_path: Path = ConfigOpt) -> None:
    """Revoke an API token."""
    from tenure.state import tokens
    from tenure.state.db import session_scope

    with session_scope(_config(config_path)) as session:
        tokens.revoke(session, token_id, actor="cli")
    console.print(f"revoked token {token_id}")


@tokens_app.command("list")
def tokens_list(config_path: Path = ConfigOpt) -> None:
    """List API tokens (never their secrets)."""
    from tenure.state import tokens
    from tenure.state.db import session_scope

    with session_scope(_config(config_path)) as session:
        rows = tokens.list_tokens(session)
    table = Table(title="api tokens")
    for col in ("id", "user", "name", "scopes", "expires_at", "revoked_at"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["user"], r["name"], r["scopes"], str(r["expires_at"] or ""),
                      str(r["revoked_at"] or ""))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
