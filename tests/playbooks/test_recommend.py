"""Play recommendations from experiment evidence (tenure.playbooks.recommend.recommend): the play
with the biggest proven cut in churn for accounts like it (segment and band), its evidence in the
message; no suggestion while intervals include 0, while too few are measured, or with no
experiment at all. The evidence computed from a simulated company with a planted effect is tested
in test_experiment_recovers_effect.py."""

from __future__ import annotations

from tenure.playbooks.experiments import NOT_ENOUGH
from tenure.playbooks.recommend import recommend


def _cell(segment, band, effect=None, lo=None, hi=None, n=(200, 50)):
    if effect is None:
        return {"segment": segment, "band": band, "status": NOT_ENOUGH, "treatment_n": n[0], "holdout_n": n[1]}
    return {"segment": segment, "band": band, "status": "measured", "effect": effect, "ci_low": lo, "ci_high": hi,
            "p_value": 0.01, "treatment_n": n[0], "holdout_n": n[1]}


EVIDENCE = {"horizon_days": 180, "playbooks": [
    {"name": "save", "title": "At-risk save", "cells": [_cell("SMB", "red", -0.10, -0.18, -0.02),
                                                        _cell("Mid-Market", "red", -0.05, -0.15, 0.05),
                                                        _cell("Enterprise", "red", n=(12, 3))]},
    {"name": "exec", "title": "Exec sponsor call", "cells": [_cell("SMB", "red", -0.14, -0.25, -0.03),
                                                             _cell("Mid-Market", "red", -0.02, -0.09, 0.05)]},
    {"name": "bad", "title": "Discount", "cells": [_cell("SMB", "red", -0.30, -0.70, 0.10)]},
]}


def _one(segment, band, evidence=EVIDENCE):
    return recommend(evidence, [{"account_id": "A1", "segment": segment, "band": band}])[0]


def test_the_biggest_proven_cut_for_accounts_like_it_is_suggested_with_its_evidence():
    r = _one("SMB", "red")
    # "Discount" measured the biggest cut, but its interval includes 0: not proven
    assert r["playbook"] == "exec" and r["title"] == "Exec sponsor call"
    assert r["evidence"]["effect"] == -0.14
    assert r["message"] == ("Exec sponsor call: churn within 180 days -14.0 pp for SMB accounts enrolled while red "
                            "(95% CI -25.0 pp to -3.0 pp, p=0.010, n=200/50)")


def test_intervals_that_include_zero_suggest_nothing_and_say_so():
    r = _one("Mid-Market", "red")
    assert r["playbook"] is None
    assert r["message"].startswith("No play has shown a cut in churn for Mid-Market accounts enrolled while red yet: "
                                   "the best, At-risk save, -5.0 pp (95% CI -15.0 pp to +5.0 pp")


def test_too_few_measured_says_not_enough_data_yet_with_the_counts():
    r = _one("Enterprise", "red")
    assert r["playbook"] is None
    assert r["message"] == (f"{NOT_ENOUGH} for Enterprise accounts enrolled while red: 12 treated and 3 held out "
                            "have been measured so far.")
    assert _one("SMB", "yellow")["message"] == (f"{NOT_ENOUGH} for SMB accounts enrolled while yellow: no experiment "
                                                "has measured any yet.")


def test_without_any_experiment_it_says_there_is_no_evidence():
    r = _one("SMB", "red", {"horizon_days": 180, "playbooks": []})
    assert r["playbook"] is None and r["message"].startswith("No playbook holds accounts out yet")
