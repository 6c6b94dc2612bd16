"""The survey state on PostgreSQL: invitations (INSERT .. ON CONFLICT on the dedupe key), the
single-use answer, the rate-limit counters (ON CONFLICT DO UPDATE) and the sync, on a fresh
PostgreSQL state DB beside the tiny company's DuckDB warehouse."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from tenure.notify.signing import project_secret
from tenure.state.db import session_scope, upgrade
from tenure.state.models import SurveyInvitation, SurveyResponse
from tenure.voc import responses, send, tokens

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 2, 10, 0)


def test_send_answer_limit_and_sync_on_postgres(project, pg_state_url):
    from tenure.warehouse import connect

    config = project.model_copy(update={"state": project.state.model_copy(update={"url": pg_state_url})})
    upgrade(config)
    wh = connect(config=config, write=False)
    try:
        assert send.send_all(config, wh, program="rel-nps", now=NOW)[0].invited == 3
        assert send.send_all(config, wh, program="rel-nps", now=NOW)[0].recently_asked == 3
    finally:
        wh.close()
    with session_scope(config) as s:
        inv = s.scalars(select(SurveyInvitation).order_by(SurveyInvitation.contact_id)).first()
        token = tokens.invitation_token(project_secret(config), inv.invitation_id, inv.expires_at)
        assert responses.record_score(s, config, token, 6, now=NOW).status == "recorded"
    with session_scope(config) as s:
        assert responses.record_score(s, config, token, 9, now=NOW).status in ("recorded", "already")
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        keys = responses.rate_keys(config, "10.0.0.9", token)
        assert [responses.allow(s, config, keys, now=NOW) for _ in range(7)] == [True] * 6 + [False]
    wh = connect(config=config, write=True)
    try:
        out = responses.sync(config, wh)
        assert (out["invitations"], out["responses"]) == (3, 1)
        assert responses.sync(config, wh)["runs"] == []
    finally:
        wh.close()
