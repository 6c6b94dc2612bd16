"""Refresh runs through the API on a copy of the demo site (`writable_site`: runs write): POST
queues a run (202 + Location) that the server runs in a background thread; GET shows its steps
and completion; a second POST while a run is active is refused with that run's id; runs are
audited and make cached reads stale."""

from __future__ import annotations

from sqlalchemy import select

from tenure.jobs import runs, versions
from tenure.state.db import session_scope
from tenure.state.models import AuditLog


def test_refresh_is_queued_runs_in_the_background_and_shows_completion(writable_site):
    demo_site = writable_site  # its own copy: a refresh writes
    api, auth, config = demo_site.api, demo_site.auth, demo_site.config
    versions.bump(config, ["band_history"])  # as if someone rewrote it: that one step reruns
    before = demo_site.app.state.ctx.data_version
    r = api.post("/api/v1/refresh", headers=auth("admin"))
    assert r.status_code == 202, r.text
    queued = r.json()
    assert r.headers["location"] == f"/api/v1/refresh/{queued['id']}"
    assert queued["status"] in ("queued", "running", "succeeded") and queued["trigger"] == "api"
    assert api.app.state.refresh_worker.wait(300)
    done = api.get(r.headers["location"], headers=auth("admin")).json()
    assert done["status"] == "succeeded", done
    assert done["steps_done"] == done["steps_total"] == len(done["steps"]) == 7
    by = {s["name"]: s for s in done["steps"]}
    assert by["band_history"]["status"] == "succeeded" and by["band_history"]["reason"] == "changed: outputs"
    assert by["band_history"]["seconds"] is not None and by["band_history"]["result"]["band_history_rows"] > 0
    assert by["account_summary"]["status"] == "skipped"  # nothing it reads changed
    assert done["as_of"] == demo_site.summary["compute"]["portfolio"]["refresh"]["as_of"].isoformat()
    assert demo_site.app.state.ctx.data_version > before  # the run's writes bumped the shared version
    listed = api.get("/api/v1/refresh", headers=auth("cco")).json()
    # the demo's own two runs too (before its survey wave, and after it for the wave's answers)
    assert listed["items"][0]["id"] == queued["id"] and listed["total"] == 3
    with session_scope(config) as s:
        last = s.scalars(select(AuditLog).where(AuditLog.action == "refresh").order_by(AuditLog.id.desc())).first()
        assert last.actor == "admin" and last.entity_id == queued["id"]


def test_a_second_refresh_while_one_is_active_gets_409_with_its_id(writable_site):
    demo_site = writable_site  # its own copy: the test records a run
    api, auth = demo_site.api, demo_site.auth
    active = runs.create(demo_site.config, trigger="cli")  # as a `tenure refresh` in a terminal would
    try:
        r = api.post("/api/v1/refresh", headers=auth("admin"), json={"force": True})
        assert r.status_code == 409
        assert r.json()["run_id"] == active and r.headers["location"] == f"/api/v1/refresh/{active}"
        assert api.get(f"/api/v1/refresh/{active}", headers=auth("admin")).json()["status"] == "queued"
    finally:
        runs.abandon(demo_site.config, active, "test over")
    assert api.get("/api/v1/refresh/ffff0000", headers=auth("admin")).status_code == 404
