"""Why customers left: the ARR churned in a period by churn reason.

An account's churned ARR is the bridge's own churn amount (tenure.metrics.bridge.movements: the
opening ARR of an account whose ARR fell to zero in the period), so the reasons always add up to
the bridge's churn. Its reason is the latest `churn_reasons` row recorded for the account up to
REASON_GRACE_DAYS after the period's last day (a reason is often written when the last contract
line ends, or shortly after); an account with none counts under NO_REASON.
"""

from __future__ import annotations

from datetime import timedelta

from tenure.config import Config
from tenure.metrics.arr import MONEY
from tenure.metrics.bridge import movements
from tenure.metrics.periods import Period
from tenure.warehouse import Warehouse
from tenure.warehouse.expr import _, ibis, ir

__all__ = ["NO_REASON", "REASON_GRACE_DAYS", "churn_by_reason", "churn_by_reason_expr"]

NO_REASON = "not recorded"
REASON_GRACE_DAYS = 31


def churn_by_reason_expr(wh: Warehouse, config: Config, period: Period) -> ir.Table:
    """{reason, accounts, arr} for the accounts that churned in `period`, biggest ARR first."""
    m = movements(wh, config, [period])
    churned = m.filter(m.churn > 0).select("account_id", lost=_.churn)
    cr = wh.table("churn_reasons")
    cutoff = ibis.literal(period.last_day + timedelta(days=REASON_GRACE_DAYS), "date")
    cr = cr.filter(cr.at.notnull() & (cr.at.cast("date") <= cutoff))
    cr = cr.mutate(rk=ibis.row_number().over(group_by=cr.account_id, order_by=[cr.at.desc(), cr.category]))
    latest = cr.filter(cr.rk == 0).select(ra=_.account_id, category=_.category)
    j = churned.left_join(latest, churned.account_id == latest.ra)
    reason = ibis.ifelse(j.category.isnull() | (j.category.strip() == ""), NO_REASON, j.category)
    j = j.mutate(reason=reason)
    g = j.group_by("reason").aggregate(accounts=j.account_id.count(), arr=j.lost.sum().cast(MONEY))
    return g.order_by([g.arr.desc(), g.reason])


def churn_by_reason(wh: Warehouse, config: Config, period: Period) -> list[dict]:
    """[{reason, accounts, arr}] (ARR in the reporting currency, per year), biggest ARR first; the
    ARR adds up to the bridge's churn for the period."""
    rows = wh.to_pyarrow(churn_by_reason_expr(wh, config, period)).to_pylist()
    return [{"reason": r["reason"], "accounts": int(r["accounts"]), "arr": float(r["arr"] or 0)} for r in rows]
