"""Advocacy (tenure.voc.advocacy) on a hand-worked company, on DuckDB and PostgreSQL warehouses and
SQLite and PostgreSQL state DBs. As of 2026-06-30; the ledger's clock is 2026-07-01 09:00.

    account  owner  lines (USD ARR)                          renewal               health (latest)
    A        csm1   2024-01-01 open-ended 10,000 annual      past its first year   green
    B        csm2   2025-12-01 open-ended 50,000 annual      won renewal 06-01     green
    C        csm1   2026-02-01 open-ended 20,000 annual      neither (5 months)    green
    D        csm1   2023-01-01 open-ended  5,000 annual      past its first year   green 05-31 -> red 06-28
    E        csm2   2023-01-01 .. 2026-03-31 7,000           churned (no ARR)      green
    F        csm1   2024-06-01 open-ended  8,000 annual      past its first year   green

    contact  account  NPS answers                                         candidate?
    K1       A        10 on 2026-05-01                                    yes
    K2       A        9 on 2026-03-01, then 6 on 2026-06-01               no: the latest is 6
    K3       A        9 on 2025-01-01                                     no: older than 365 days
    K4       A        10 on 2026-05-01, left 2026-01-31                   no: no longer there
    K5       B        9 on 2026-06-15                                     yes
    K6       C        10 on 2026-06-01                                    no: not renewed
    K7       D        10 on 2026-06-01                                    no: red
    K8       E        10 on 2026-01-15                                    no: churned
    K9       F        9 on 2026-06-01                                     yes

Ranked by ARR: K5 (B, 50,000), K1 (A, 10,000), K9 (F, 8,000); csm1's book: K1, K9."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest
from sqlalchemy import select

from tenure.config import config_from_dict
from tenure.errors import ConflictError, InputError
from tenure.ingest.pipeline import ingest_table
from tenure.state.db import session_scope, upgrade
from tenure.state.models import AuditLog, CaseStudyMove
from tenure.voc import advocacy as adv

AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 7, 1, 9, 0)


def _load(wh, config, entity, **cols):
    res = ingest_table(wh, config, entity, pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()}),
                       source="test", file_label=entity)
    assert res.rejected == 0, res.rejected_by_reason


def _put(wh, name, /, **cols):
    from tenure.schema import TABLES
    from tenure.warehouse import ibis_schema

    schema = ibis_schema(TABLES[name]).to_pyarrow()
    n = len(next(iter(cols.values())))
    wh.insert(name, pa.table({f.name: pa.array(cols.get(f.name, [None] * n), f.type) for f in schema}))


def _build(wh, tmp_path):
    """The company above in the warehouse `wh`; returns its config."""
    config = config_from_dict({"ingest": {"runs_dir": str(tmp_path / "runs")}}, base_dir=tmp_path, env={})
    ids = ["A", "B", "C", "D", "E", "F"]
    _load(wh, config, "accounts", account_id=ids, name=[f"{i} Co" for i in ids],
          segment=["SMB", "Enterprise", "SMB", "SMB", "SMB", "SMB"], owner=["csm1", "csm2", "csm1", "csm1", "csm2",
                                                                          "csm1"])
    _load(wh, config, "contract_lines", line_id=[f"L{i}" for i in ids], account_id=ids, product=["core"] * 6,
          start_date=["2024-01-01", "2025-12-01", "2026-02-01", "2023-01-01", "2023-01-01", "2024-06-01"],
          end_date=[None, None, None, None, "2026-03-31", None],
          arr=["10000", "50000", "20000", "5000", "7000", "8000"], currency=["USD"] * 6,
          billing_period=["annual"] * 6, auto_renew=["true", "true", "true", "true", "false", "true"])
    _load(wh, config, "opportunities", opportunity_id=["O1", "O2"], account_id=["B", "C"],
          kind=["renewal", "renewal"], amount=["50000", "20000"], currency=["USD"] * 2,
          stage=["Closed Won", "Negotiation"], status=["won", "open"], probability=["1", "0.5"],
          close_date=["2026-06-01", "2027-01-31"])
    contacts = ["K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9"]
    _load(wh, config, "contacts", contact_id=contacts, account_id=["A", "A", "A", "A", "B", "C", "D", "E", "F"],
          name=[f"Person {c}" for c in contacts], role=["champion"] * 9,
          active_from=["2023-01-01"] * 9, active_to=[None, None, None, "2026-01-31", None, None, None, None, None])
    answers = [("K1", "A", 10, "2026-05-01"), ("K2", "A", 9, "2026-03-01"), ("K2", "A", 6, "2026-06-01"),
               ("K3", "A", 9, "2025-01-01"), ("K4", "A", 10, "2026-05-01"), ("K5", "B", 9, "2026-06-15"),
               ("K6", "C", 10, "2026-06-01"), ("K7", "D", 10, "2026-06-01"), ("K8", "E", 10, "2026-01-15"),
               ("K9", "F", 9, "2026-06-01")]
    _load(wh, config, "survey_responses", response_id=[f"R{i}" for i in range(len(answers))],
          contact_id=[a[0] for a in answers], account_id=[a[1] for a in answers], kind=["nps"] * len(answers),
          score=[str(a[2]) for a in answers], responded_at=[f"{a[3]}T12:00:00Z" for a in answers])
    _put(wh, "health_scores", account_id=["A", "B", "C", "D", "D", "E", "F"],
         as_of=[date(2026, 6, 28)] * 3 + [date(2026, 5, 31), date(2026, 6, 28), date(2026, 3, 1), date(2026, 6, 28)],
         score=[80.0, 75.0, 90.0, 70.0, 30.0, 80.0, 85.0],
         band=["green", "green", "green", "green", "red", "green", "green"])
    return config


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    """The company on DuckDB, loaded once for the module (the tests only read the warehouse)."""
    from tenure.warehouse import Warehouse

    folder = tmp_path_factory.mktemp("advocacy")
    wh = Warehouse(f"duckdb:///{folder / 'warehouse.duckdb'}")
    wh.ensure_schema()
    config = _build(wh, folder)
    yield wh, config
    wh.close()


@pytest.fixture
def company(duck, state_url):
    """The DuckDB company with a fresh state DB of its own (SQLite, and PostgreSQL)."""
    upgrade(state_url)
    return (*duck, state_url)


def _ids(page) -> list[str]:
    return [r["contact_id"] for r in page.rows]


def test_candidates_are_promoters_at_healthy_renewed_customers_ranked_by_arr(company):
    wh, config, state = company
    with session_scope(state) as s:
        every = adv.candidates(wh, config, s, as_of=AS_OF, now=NOW)
        mine = adv.candidates(wh, config, s, as_of=AS_OF, owners=["csm1"], now=NOW)
        nobody = adv.candidates(wh, config, s, as_of=AS_OF, owners=[], now=NOW)
        second = adv.candidates(wh, config, s, as_of=AS_OF, limit=1, offset=1, now=NOW)
    assert _ids(every) == ["K5", "K1", "K9"] and every.total == 3
    assert [r["rank"] for r in every.rows] == [1, 2, 3]
    assert [float(r["arr"]) for r in every.rows] == [50000.0, 10000.0, 8000.0]
    assert _ids(mine) == ["K1", "K9"] and nobody.total == 0 and nobody.rows == []
    assert _ids(second) == ["K1"] and second.total == 3
    k5, k1 = every.rows[0], every.rows[1]
    assert k5["reasons"][0] == "promoter: NPS 9 on 2026-06-15"
    assert "renewed: a renewal won on 2026-06-01" in k5["reasons"]
    assert "renewed: a customer since 2024-01-01, past its first 365-day term" in k1["reasons"]
    assert "never asked for a reference" in k1["reasons"] and k1["reasons"][-1] == "ARR $10k"


def test_the_fatigue_ledger_caps_requests_across_teams_and_says_when(company):
    wh, config, state = company
    first, second = NOW - timedelta(days=40), NOW - timedelta(days=35)
    with session_scope(state) as s:
        r1, made1 = adv.request_reference(s, contact_id="K9", account_id="F", team="sales-emea", requested_by="ann",
                                          opportunity_id="OPP-1", settings=config.advocacy, now=first)
        again, made_again = adv.request_reference(s, contact_id="K9", account_id="F", team="sales-emea",
                                                  requested_by="ann", opportunity_id="OPP-1",
                                                  settings=config.advocacy, now=first + timedelta(hours=1))
        assert made1 and not made_again and again.id == r1.id  # the same ask again: the open request
        adv.request_reference(s, contact_id="K9", account_id="F", team="sales-na", requested_by="bob",
                              prospect="Initech", settings=config.advocacy, now=second)
    with session_scope(state) as s:
        with pytest.raises(ConflictError) as err:
            adv.request_reference(s, contact_id="K9", account_id="F", team="partners", requested_by="cy",
                                  prospect="Globex", settings=config.advocacy, now=NOW)
        nxt = first + timedelta(days=90)
        assert str(err.value).startswith("contact K9 has been asked for 2 references in the last 90 days; the cap "
                                         "is 2 per 90 days across teams")
        assert f"next available {nxt:%Y-%m-%d %H:%M} UTC" in str(err.value)
        state_now = adv.availability(s, "K9", settings=config.advocacy, now=NOW)
        assert state_now["asks_in_window"] == 2 and not state_now["available"]
        assert state_now["next_available_at"] == nxt
        # at the cap: no longer a candidate; once the first ask leaves the window, one again
        assert _ids(adv.candidates(wh, config, s, as_of=AS_OF, now=NOW)) == ["K5", "K1"]
        later = nxt + timedelta(minutes=1)
        assert adv.availability(s, "K9", settings=config.advocacy, now=later)["available"]
        assert "K9" in _ids(adv.candidates(wh, config, s, as_of=AS_OF, now=later))
        # a withdrawn request does not count
        r = adv.list_requests(s, contact_id="K9", limit=10).rows[0]
        adv.set_request_status(s, r["id"], "withdrawn", actor="bob", now=NOW)
        assert adv.availability(s, "K9", settings=config.advocacy, now=NOW)["asks_in_window"] == 1


def test_a_request_in_the_cooldown_removes_the_candidate_and_statuses_move_one_way(company):
    wh, config, state = company
    with session_scope(state) as s:
        r, _ = adv.request_reference(s, contact_id="K1", account_id="A", team="sales", requested_by="ann",
                                     prospect="Acme", settings=config.advocacy, now=NOW - timedelta(days=10))
        assert _ids(adv.candidates(wh, config, s, as_of=AS_OF, now=NOW)) == ["K5", "K9"]
        assert "K1" in _ids(adv.candidates(wh, config, s, as_of=AS_OF, now=NOW + timedelta(days=21)))
        adv.set_request_status(s, r.id, "accepted", actor="csm1")
        adv.set_request_status(s, r.id, "completed", actor="csm1")
        with pytest.raises(ConflictError, match="is completed; it can move to nothing"):
            adv.set_request_status(s, r.id, "declined", actor="csm1")
        with pytest.raises(InputError, match="opportunity_id or the prospect"):
            adv.request_reference(s, contact_id="K1", account_id="A", team="sales", requested_by="ann",
                                  settings=config.advocacy)
        trail = s.scalars(select(AuditLog.action).where(AuditLog.entity == "reference_request",
                                                        AuditLog.entity_id == str(r.id)).order_by(AuditLog.id)).all()
    assert trail == ["create", "status", "status"]


def test_case_study_moves_are_kept_and_audited(company):
    _, config, state = company
    with session_scope(state) as s:
        cs, made = adv.create_case_study(s, account_id="A", title="Alpha's rollout", actor="csm1",
                                         settings=config.advocacy)
        same, made_again = adv.create_case_study(s, account_id="A", title="alpha's ROLLOUT", actor="csm1",
                                                 settings=config.advocacy)
        assert made and not made_again and same.id == cs.id and cs.stage == "identified"
        adv.move_case_study(s, cs.id, "interviewing", actor="csm1", settings=config.advocacy)
        adv.move_case_study(s, cs.id, "interviewing", actor="csm1", settings=config.advocacy)  # no change
        adv.move_case_study(s, cs.id, "published", url="https://example.com/alpha", actor="cco",
                            settings=config.advocacy)
        with pytest.raises(InputError, match="case-study stage 'shipped'"):
            adv.move_case_study(s, cs.id, "shipped", actor="cco", settings=config.advocacy)
        with pytest.raises(InputError, match="not a web address"):
            adv.move_case_study(s, cs.id, "published", url="javascript:alert(1)", actor="cco",
                                settings=config.advocacy)
        moves = s.scalars(select(CaseStudyMove).where(CaseStudyMove.case_study_id == cs.id)
                          .order_by(CaseStudyMove.id)).all()
        assert [(m.from_stage, m.to_stage) for m in moves] == [(None, "identified"), ("identified", "interviewing"),
                                                               ("interviewing", "published")]
        assert cs.published_at is not None and cs.url == "https://example.com/alpha"
        counts = {c["stage"]: c["count"] for c in adv.pipeline_counts(s, settings=config.advocacy)}
        assert counts["published"] == 1 and counts["identified"] == 0 and "dropped" in counts
        assert adv.list_case_studies(s, accounts=["B"]).total == 0
        audited = s.scalars(select(AuditLog.action).where(AuditLog.entity == "case_study")).all()
    assert audited == ["create", "move", "move"]


def test_referrals_bring_the_arr_of_the_account_they_became(company):
    wh, config, state = company
    with session_scope(state) as s:
        r, _ = adv.add_referral(s, account_id="A", company="Beta  GmbH", contact_id="K1", actor="csm1")
        same, made = adv.add_referral(s, account_id="A", company="beta gmbh", actor="csm1")
        assert not made and same.id == r.id
        gone, _ = adv.add_referral(s, account_id="A", company="Echo", actor="csm1")
        adv.add_referral(s, account_id="F", company="Nobody yet", actor="csm1")
        adv.update_referral(s, r.id, referred_account_id="B", actor="csm1")
        adv.update_referral(s, gone.id, referred_account_id="E", actor="csm1")
        assert r.status == "won"
        with pytest.raises(InputError, match="the referring account itself"):
            adv.update_referral(s, r.id, referred_account_id="A", actor="csm1")
        arr = adv.referral_arr(wh, config, s, day=AS_OF, ids=[r.id, gone.id])
        assert float(arr["total_arr"]) == 50000.0 and arr["won"] == 2  # E churned on 2026-03-31: 0
        assert float(arr["by_referral"][r.id]) == 50000.0 and float(arr["by_referral"][gone.id]) == 0.0
        before = adv.referral_arr(wh, config, s, day=date(2026, 3, 1))
        assert float(before["total_arr"]) == 57000.0  # B's 50,000 and E's 7,000 on that day
        assert adv.referral_arr(wh, config, s, day=AS_OF, accounts=["F"])["total_arr"] == 0


def test_board_terms_are_active_inside_the_term_and_never_overlap(company):
    _, config, state = company
    with session_scope(state) as s:
        m, _ = adv.add_member(s, board="CAB", contact_id="K1", account_id="A", term_start=date(2026, 1, 1),
                              actor="cco", settings=config.advocacy)
        same, made = adv.add_member(s, board="CAB", contact_id="K1", account_id="A", term_start=date(2026, 1, 1),
                                    actor="cco", settings=config.advocacy)
        assert not made and same.id == m.id
        with pytest.raises(InputError, match="already has a term on CAB"):
            adv.add_member(s, board="CAB", contact_id="K1", account_id="A", term_start=date(2026, 6, 1),
                           actor="cco", settings=config.advocacy)
        assert adv.list_members(s, active_on=date(2026, 6, 1)).total == 1
        adv.end_member(s, m.id, term_end=date(2026, 5, 31), actor="cco")
        assert adv.list_members(s, active_on=date(2026, 6, 1)).total == 0
        assert adv.list_members(s, active_on=date(2026, 5, 31)).rows[0]["active"] is True
        strict = config.advocacy.model_copy(update={"boards": ["Product council"]})
        with pytest.raises(InputError, match="use one of Product council"):
            adv.add_member(s, board="CAB", contact_id="K5", account_id="B", term_start=date(2026, 1, 1),
                           actor="cco", settings=strict)


@pytest.mark.postgres
def test_candidates_and_referral_arr_are_the_same_on_postgresql(duck, pg_url, tmp_path):
    from tenure.warehouse import Warehouse

    pg = Warehouse(pg_url)
    try:
        pg.ensure_schema()
        config = _build(pg, tmp_path)
        state = f"sqlite:///{tmp_path / 'state.db'}"
        upgrade(state)
        with session_scope(state) as s:
            adv.request_reference(s, contact_id="K9", account_id="F", team="sales", requested_by="ann",
                                  prospect="Acme", settings=config.advocacy, now=NOW - timedelta(days=3))
            r, _ = adv.add_referral(s, account_id="A", company="Beta", actor="csm1")
            adv.update_referral(s, r.id, referred_account_id="B", actor="csm1")
            on_pg = adv.candidates(pg, config, s, as_of=AS_OF, now=NOW)
            on_duck = adv.candidates(duck[0], duck[1], s, as_of=AS_OF, now=NOW)
            assert float(adv.referral_arr(pg, config, s, day=AS_OF)["total_arr"]) == 50000.0
        assert _ids(on_pg) == _ids(on_duck) == ["K5", "K1"]
        assert [r["reasons"] for r in on_pg.rows] == [r["reasons"] for r in on_duck.rows]
    finally:
        pg.close()


def test_two_requests_for_one_contact_at_once_are_counted_one_after_the_other(state_url):
    """Two transactions ask for the same contact at a cap of 1: the second waits on the ledger row
    the first wrote, then sees the first request and is refused (not two requests over the cap)."""
    import threading

    from tenure.config import AdvocacySettings
    from tenure.state.db import make_engine
    from tenure.state.models import ReferenceRequest

    upgrade(state_url)
    cap = AdvocacySettings(request_cap=1)
    first_in = threading.Event()
    outcome: dict[str, object] = {}

    def second() -> None:
        first_in.wait(30)
        try:
            with session_scope(state_url) as s:
                adv.request_reference(s, contact_id="K1", account_id="A", team="sales-na", requested_by="bob",
                                      prospect="Globex", settings=cap, now=NOW)
            outcome["second"] = "created"
        except ConflictError as err:
            outcome["second"] = str(err)

    t = threading.Thread(target=second)
    t.start()
    with session_scope(state_url) as s:
        adv.request_reference(s, contact_id="K1", account_id="A", team="sales-emea", requested_by="ann",
                              prospect="Initech", settings=cap, now=NOW)
        first_in.set()
        t.join(1.0)  # the second is waiting on the ledger row while this transaction is open
        assert t.is_alive()
    t.join(30)
    assert str(outcome["second"]).startswith("contact K1 has been asked for 1 references")
    with make_engine(state_url).connect() as con:
        assert len(con.execute(select(ReferenceRequest.id)).all()) == 1
