"""The simulator's planted at-risk save effect: the treatment arm is the engine's own stable hash of
the shipped playbook, the cut is exactly the one asked for and only while the proxy enrolled the
account, and the play takes no random draws of its own."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from tenure.errors import InputError
from tenure.playbooks.engine import holdout_arm
from tenure.simulate import simulate_company
from tenure.simulate.company import _save_playbook


def test_treated_accounts_have_their_churn_probability_cut(tmp_path):
    simulate_company(tmp_path / "c", accounts=400, months=18, seed=3, save_effect=0.5)
    t = pq.read_table(tmp_path / "c" / "_truth" / "save_play.parquet").to_pandas()
    assert t.renewal_due.all() and len(t) > 500
    cut = t[t.churn_probability_applied < t.churn_probability]
    assert len(cut) >= 20  # the play acted on some renewal decisions
    np.testing.assert_allclose(cut.churn_probability_applied, cut.churn_probability * 0.5, rtol=1e-6)
    pb = _save_playbook()
    assert pb.name == "at-risk-save" and pb.experiment.holdout == pytest.approx(0.2)
    assert {holdout_arm(pb, a) for a in cut.account_id.unique()} == {"treatment"}
    # holdout accounts are never cut, and most decisions are not (only enrolled, treated ones)
    untouched = t[t.churn_probability_applied == t.churn_probability]
    held = [a for a in t.account_id.unique() if holdout_arm(pb, a) == "holdout"]
    assert set(held) <= set(untouched.account_id) and len(untouched) > len(cut)


def test_the_play_draws_nothing_from_the_company_s_random_stream(tmp_path):
    """The company with an effect is the one without it until the first decision the play cut
    (the proxy and the assignment use no random draws): same latent health in every month before."""
    simulate_company(tmp_path / "a", accounts=300, months=15, seed=4)
    simulate_company(tmp_path / "b", accounts=300, months=15, seed=4, save_effect=0.9)
    t = pq.read_table(tmp_path / "b" / "_truth" / "save_play.parquet").to_pandas()
    first = t[t.churn_probability_applied < t.churn_probability].month.min()
    a = pq.read_table(tmp_path / "a" / "_truth" / "latent_monthly.parquet").to_pandas()
    b = pq.read_table(tmp_path / "b" / "_truth" / "latent_monthly.parquet").to_pandas()
    before = a.month <= first
    assert before.sum() >= 300 * 3
    assert a[before].equals(b[before])
    assert not a.equals(b)  # and the saves changed the company after it
    t0 = pq.read_table(tmp_path / "a" / "_truth" / "save_play.parquet").to_pandas()
    assert (t0.churn_probability_applied == t0.churn_probability).all()


def test_an_effect_outside_0_to_1_is_refused(tmp_path):
    with pytest.raises(InputError, match="save_effect 1.5 must be between 0 and 1"):
        simulate_company(tmp_path / "x", accounts=50, months=6, seed=1, save_effect=1.5)
