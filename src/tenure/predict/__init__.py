"""Predict: churn risk (risk.py), retention and CLV models (sbg, bgnbd, gammagamma, survival)."""

from __future__ import annotations


def demo_step(wh, config, console) -> dict:
    """For `tenure demo`: an honest backtest, then the riskiest accounts now with their drivers."""
    from datetime import timedelta

    from rich.table import Table

    from tenure.predict.risk import _attributes, backtest, dataset
    from tenure.warehouse.asof import latest_event_day

    latest = latest_event_day(wh)  # the one "as of": the last day with events
    horizon = 180
    # the backtest's model (trained on outcomes known 180 days ago) also ranks the accounts now;
    # `tenure risk train` refits on everything known
    report, model = backtest(wh, config, latest - timedelta(days=horizon), horizon, return_model=True)
    now = dataset(wh, config, latest, None, _attributes(wh))
    now["risk"] = model.predict(now)
    now["drivers"] = model.drivers(now)
    top = now.sort_values("risk", ascending=False).head(5)
    b = report["boosted"]
    t = Table(title=f"churn risk within {horizon} days (backtest from {report['cutoff']}: AUC {b['auc']:.3f}, "
                    f"top-decile lift {b['top_decile_lift']:.1f})")
    for c in ("riskiest accounts", "segment", "ARR", "risk", "drivers"):
        t.add_column(c)
    for r in top.itertuples():
        t.add_row(r.account_id, str(r.segment), f"{float(r.arr):,.0f}", f"{r.risk:.0%}",
                  "; ".join(d.get("text", d["feature"]) for d in r.drivers))
    return {"table": t, "backtest": report,
            "hints": [f"tenure risk backtest --cutoff {report['cutoff']} --horizon {horizon}",
                      "tenure risk train && tenure risk predict"]}
