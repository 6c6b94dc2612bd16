"""The playbooks pages: /playbooks (every playbook with its lifecycle status, version, last run and
what it did: occurrences fired, tasks, outbox messages) and /playbooks/{name} (its results, its
experiment, a preview of what it would do now and, on request, its backtest); plus starting an
active playbook by hand on one account from the account page (POST /accounts/{id}/playbooks,
CSRF-checked, audited).

Every figure is the playbooks stage's own: `tenure.playbooks.results.overview` and
`playbook_results` (what `tenure playbooks list|results --json` print), `engine.preview` (`tenure
playbooks preview`), `backtest.backtest` (`tenure playbooks backtest`), `engine.start_manually`
(`tenure playbooks start`). This module only scopes and arranges them.

Scope (tenure.access): a playbook's counts name no account, so every reader sees them; the
accounts a preview or backtest lists are limited to the principal's book of business, and the page
says how many are outside it. Lifecycle (draft, active, paused, retired) is set in the playbook's
file (reviewable config), so the pages show it and do not change it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenure.http.auth import Access, client_ip, open_account
from tenure.http.context import AppContext, get_context
from tenure.web.login import page_access, page_writer
from tenure.web.render import ENV, render

__all__ = ["playbook_detail", "playbook_rows", "router"]

router = APIRouter(include_in_schema=False)

BACKTEST_MONTHS = (6, 12, 24)
PREVIEW_ROWS = 200  # accounts listed per preview table; the heading counts them all


def _total(counts: dict[str, int]) -> int:
    return int(sum(counts.values()))


def playbook_rows(config: Any) -> list[dict]:
    """One row per valid playbook file: `overview`'s row (status, version, triggers, steps, last
    run, enrolments, open tasks) with the totals of `playbook_results` (occurrences fired, tasks,
    outbox messages; counted in the state DB)."""
    from tenure.playbooks.results import overview, playbook_results

    rows = []
    for row in overview(config):
        res = playbook_results(config, row["name"])  # no warehouse: counts only, no experiment
        rows.append({**row, "fired": _total(res["occurrences"]), "started": int(res["occurrences"].get("started", 0)),
                     "tasks": _total(res["tasks"]), "messages": _total(res["messages"]),
                     "occurrences": res["occurrences"], "task_states": res["tasks"],
                     "message_states": res["messages"]})
    return rows


def _in_book(rows: list[dict], owners: list[str] | None) -> list[dict]:
    if owners is None:
        return rows
    keep = set(owners)
    return [r for r in rows if r.get("owner") in keep]


def _accounts_in_book(wh: Any, ids: list[str], owners: list[str] | None) -> set[str]:
    """Which of `ids` the book covers (one query; every id when the book is everything)."""
    if owners is None or not ids:
        return set(ids) if owners is None else set()
    s = wh.table("account_summary")
    t = wh.to_pyarrow(s.filter(s.account_id.isin(ids) & s.owner.isin(owners)).select("account_id"))
    return set(t.column("account_id").to_pylist())


def playbook_detail(ctx: AppContext, wh: Any, name: str, owners: list[str] | None) -> dict:
    """One playbook's page data: `results` (playbook_results with its experiment), `preview` (the
    engine's preview: the run's report and the occurrences) with its account lists limited to
    `owners` (None = all), and the counts before limiting.

    The experiment (`experiment_results`, what `playbook_results` adds given a warehouse: seconds
    on a big book) is cached per data version, playbook content and enrolments per arm, so a new
    enrolment or new data measures it again."""
    from tenure.http.cache import cached
    from tenure.playbooks.engine import preview
    from tenure.playbooks.experiments import experiment_results
    from tenure.playbooks.results import playbook_results
    from tenure.playbooks.spec import find, load_playbooks

    config = ctx.config
    results = playbook_results(config, name)
    if "experiment" in results:  # the playbook holds accounts out
        pb = find(load_playbooks(config), name)
        key = ("web", "playbook-experiment", name, pb.content_hash, tuple(sorted(results["arms"].items())))
        results["experiment"] = cached(ctx, key, lambda: experiment_results(wh, config, name))
    report = preview(wh, config, name)
    run = report["playbooks"][0] if report["playbooks"] else {}
    occurrences = report.get("occurrences", [])
    started = run.get("accounts", [])
    return {"results": results, "preview": report, "run": run,
            "occurrences": _in_book(occurrences, owners), "occurrences_total": len(occurrences),
            "started": _in_book(started, owners), "started_total": len(started)}


def backtest_view(ctx: AppContext, wh: Any, name: str, months: int, owners: list[str] | None) -> dict:
    """`tenure playbooks backtest NAME --months M` (cached per data version and playbook content),
    with each month's accounts limited to the book."""
    from tenure.http.cache import cached
    from tenure.playbooks.backtest import backtest
    from tenure.playbooks.spec import find, load_playbooks

    pb = find(load_playbooks(ctx.config), name)
    res = cached(ctx, ("web", "playbook-backtest", name, pb.content_hash, months),
                 lambda: backtest(wh, ctx.config, pb, months=months))
    every = sorted({a for m in res["by_date"] for a in m["accounts"]})
    seen = _accounts_in_book(wh, every, owners)
    by_date = [{**m, "accounts": [a for a in m["accounts"] if a in seen], "all_accounts": len(m["accounts"])}
               for m in res["by_date"]]
    return {**res, "by_date": by_date, "accounts_in_book": len(seen)}


@router.get("/playbooks", response_class=HTMLResponse)
def playbooks_page(request: Request, acc: Access = Depends(page_access), ctx: AppContext = Depends(get_context)):
    from tenure.playbooks.spec import playbooks_folder, validate_folder

    _, problems = validate_folder(playbooks_folder(ctx.config), ctx.config.tasks)
    return render(request, "playbooks.html", title="Playbooks", rows=playbook_rows(ctx.config),
                  problems=problems, folder=ctx.config.playbooks.folder)


@router.get("/playbooks/{name}", response_class=HTMLResponse)
def playbook_page(request: Request, name: str, backtest: int | None = Query(None, ge=1, le=60),
                  acc: Access = Depends(page_access), ctx: AppContext = Depends(get_context)):
    """One playbook: results, experiment, preview; `?backtest=12` replays the last 12 months."""
    from tenure.playbooks.spec import find, load_playbooks

    pb = find(load_playbooks(ctx.config), name)  # 404 naming the playbooks there are
    wh = ctx.warehouse()
    view = playbook_detail(ctx, wh, name, acc.owners)
    bt = backtest_view(ctx, wh, name, backtest, acc.owners) if backtest else None
    from tenure.portfolio.accounts import owner_names

    return render(request, "playbook.html", title=f"Playbook {name}", pb=pb, backtest=bt, batch=_batch_answer(request),
                  batch_max=BATCH_MAX,
                  owner_names=owner_names(wh, acc.owners),
                  backtest_months=BACKTEST_MONTHS, preview_rows=PREVIEW_ROWS, **view)


def _batch_answer(request: Request) -> dict | None:
    """What the batch start form did (its 303 back to the page carries the counts)."""
    q = request.query_params
    if "asked" not in q:
        return None

    def n(key: str) -> int:
        try:
            return max(0, int(q.get(key, 0)))
        except ValueError:
            return 0

    skipped = {k[len("skipped_"):]: n(k) for k in q if k.startswith("skipped_")}
    return {"asked": n("asked"), "started": n("started"), "holdout": n("holdout"), "capped": bool(n("capped")),
            "skipped": skipped}


# -- started by hand, from the account page --------------------------------------------------------

OUTCOMES = {  # what starting by hand did, as the account page says it (the engine's skip reasons)
    "started": "Started {name} on this account: its first steps ran.",
    "holdout": "{name}: this account is in the experiment's holdout, so it is recorded but nothing is done.",
    "already_fired": "{name} was already started on this account today: nothing new.",
    "already_enrolled": "This account is already in {name}: not started twice.",
    "cooldown": "{name} ran on this account recently (its cooldown): not started.",
    "capped": "{name} would start more accounts than its max_per_run: nothing done.",
    "not_started": "{name} was not started.",
}


def start_panel(request: Request, account_id: str) -> dict[str, Any]:
    """The account page's playbook panel: the active playbooks one may start, and this account's
    enrolments (newest first) with who started them. A template global, so the account page's
    route does not need to know about playbooks."""
    from sqlalchemy import select

    from tenure.playbooks.spec import playbooks_folder, validate_folder
    from tenure.state.models import PlaybookEnrolment

    ctx: AppContext = request.app.state.ctx
    books, _ = validate_folder(playbooks_folder(ctx.config), ctx.config.tasks)
    with ctx.db() as session:
        rows = session.execute(select(PlaybookEnrolment.playbook, PlaybookEnrolment.status, PlaybookEnrolment.arm,
                                      PlaybookEnrolment.started_by, PlaybookEnrolment.started_at,
                                      PlaybookEnrolment.exit_reason)
                               .where(PlaybookEnrolment.account_id == account_id)
                               .order_by(PlaybookEnrolment.started_at.desc(), PlaybookEnrolment.id.desc())
                               .limit(20)).all()
    q = request.query_params
    done = None
    if q.get("playbook") and q.get("outcome") in OUTCOMES:  # the start form's answer (303 back here)
        done = OUTCOMES[q["outcome"]].format(name=q["playbook"])
    return {"active": [(b.name, b.title or b.name) for b in books if b.status == "active"],
            "enrolments": [dict(r._mapping) for r in rows], "done": done}


ENV.globals["playbook_panel"] = start_panel


@router.post("/accounts/{account_id}/playbooks")
def start_playbook(request: Request, account_id: str, playbook: str = Form(..., min_length=1, max_length=100),
                   acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """Start an active playbook by hand on an account in the principal's book (the engine's
    `start_manually`: an account already in the playbook is not started twice); audited."""
    from tenure.playbooks.engine import start_manually
    from tenure.state import audit

    open_account(acc, ctx, account_id)  # 404 / 403
    res = start_manually(ctx.warehouse(), ctx.config, playbook, [account_id], actor=acc.who.username)
    with ctx.db() as session:
        audit.record(session, acc.who.username, "start", "playbook", playbook, None,
                     {"account_id": account_id, "version": res["version"], "started": res["started"],
                      "holdout": res["holdout"], "skipped": res["skipped"], "tasks": res["tasks"],
                      "emails": res["emails"]}, ip=client_ip(request))
    outcome = ("capped" if res["capped"] else "started" if res["started"] else "holdout" if res["holdout"]
               else next(iter(sorted(res["skipped"])), "not_started"))
    query = urlencode({"playbook": playbook, "outcome": outcome})
    return RedirectResponse(f"/accounts/{account_id}?{query}#playbooks", status_code=303)


BATCH_MAX = 500  # accounts per batch start (a playbook's max_per_run still applies)


def _batch_ids(text: str) -> list[str]:
    """Account ids from the batch form: separated by commas, spaces or new lines; repeats once."""
    import re

    return list(dict.fromkeys(x for x in re.split(r"[\s,;]+", text) if x))


def _check_batch(acc: Access, wh: Any, ids: list[str]) -> None:
    """Every id an account in the principal's book: a 422 naming unknown ids, the policy's 403
    naming the first outside the book. One query for all of them."""
    from tenure.errors import InputError, NotFoundError

    if not ids:
        raise InputError("name at least one account id (separated by commas, spaces or new lines)")
    if len(ids) > BATCH_MAX:
        raise InputError(f"{len(ids)} accounts: at most {BATCH_MAX} at a time")
    s = wh.table("account_summary")
    owners = {r["account_id"]: r["owner"] for r in
              wh.to_pyarrow(s.filter(s.account_id.isin(ids)).select("account_id", "owner")).to_pylist()}
    missing = [a for a in ids if a not in owners]
    if missing:
        raise NotFoundError(f"no account {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}: "
                            "check the ids (run `tenure refresh` if they were just loaded)")
    for a in ids:  # the form's ids, at most BATCH_MAX
        acc.account(a, owners[a])


def _start_batch(request: Request, acc: Access, ctx: AppContext, name: str, ids: list[str]) -> dict[str, Any]:
    """Start playbook `name` on the accounts `ids` (each checked against the principal's book),
    audited once; the query string that reports what it did."""
    from tenure.playbooks.engine import start_manually
    from tenure.state import audit

    wh = ctx.warehouse()
    _check_batch(acc, wh, ids)
    res = start_manually(wh, ctx.config, name, ids, actor=acc.who.username)
    with ctx.db() as session:
        audit.record(session, acc.who.username, "start", "playbook", name, None,
                     {"accounts": ids, "version": res["version"], "started": res["started"],
                      "holdout": res["holdout"], "skipped": res["skipped"], "capped": res["capped"],
                      "tasks": res["tasks"], "emails": res["emails"]}, ip=client_ip(request))
    return {"asked": len(ids), "started": res["started"], "holdout": res["holdout"], "capped": int(res["capped"]),
            **{f"skipped_{k}": v for k, v in sorted(res["skipped"].items())}}


@router.post("/playbooks/{name}/start")
def start_batch(request: Request, name: str, accounts: str = Form("", max_length=BATCH_MAX * 110),
                acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """Start an active playbook by hand on a batch of accounts, all in the principal's book (the
    engine's `start_manually`, as `tenure playbooks start NAME ID...`); one audit entry."""
    query = urlencode(_start_batch(request, acc, ctx, name, _batch_ids(accounts)))
    return RedirectResponse(f"/playbooks/{name}?{query}#start", status_code=303)


# -- started on a batch from the portfolio list -------------------------------------------------------

def batch_panel(request: Request) -> dict[str, Any]:
    """The portfolio list's batch start: the active playbooks (for a principal that may write) and
    what the last batch start did (its 303 back to the list carries the counts). A template global,
    so the portfolio's route does not need to know about playbooks."""
    who = getattr(request.state, "principal", None)
    if who is None or not who.can("write"):
        return {"active": [], "answer": None}
    cached = getattr(request.state, "batch_playbook_panel", None)
    if cached is not None:  # the page asks twice (the form and the list's tick boxes)
        return cached
    from tenure.playbooks.spec import playbooks_folder, validate_folder

    ctx: AppContext = request.app.state.ctx
    books, _ = validate_folder(playbooks_folder(ctx.config), ctx.config.tasks)
    answer = _batch_answer(request)
    if answer is not None:
        answer["playbook"] = request.query_params.get("batch_playbook", "")
    panel = {"active": [(b.name, b.title or b.name) for b in books if b.status == "active"], "answer": answer}
    request.state.batch_playbook_panel = panel
    return panel


ENV.globals["batch_playbook_panel"] = batch_panel


def _portfolio_back(back: str) -> str:
    """The portfolio list to go back to, its filters kept (only /accounts itself; the answer of an
    earlier batch start is dropped)."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(back)
    if parts.scheme or parts.netloc or parts.path != "/accounts":
        return "/accounts"
    answer = {"batch_playbook", "asked", "started", "holdout", "capped"}
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in answer and not k.startswith("skipped_")]
    return "/accounts" + (f"?{urlencode(kept)}" if kept else "")


@router.post("/accounts/start-playbook")
def start_from_portfolio(request: Request, playbook: str = Form(..., min_length=1, max_length=100),
                         account: list[str] = Form([]), back: str = Form("/accounts", max_length=2000),
                         acc: Access = Depends(page_writer), ctx: AppContext = Depends(get_context)):
    """Start an active playbook on the accounts ticked in the portfolio list (a plain form: no
    JavaScript needed), each checked against the principal's book; audited once. 303 back to
    the list, with what it did."""
    ids = list(dict.fromkeys(a.strip() for a in account if a.strip()))
    done = _start_batch(request, acc, ctx, playbook, ids)
    base = _portfolio_back(back)
    sep = "&" if "?" in base else "?"
    return RedirectResponse(f"{base}{sep}{urlencode({'batch_playbook': playbook, **done})}#batch-start",
                            status_code=303)
