"""The predict stage's refresh step: churn-risk predictions on the as-of day."""

from __future__ import annotations

from tenure.jobs.graph import Graph, StepContext

# what the risk features read: the health features' facts plus account attributes
RISK_INPUTS = ("accounts", "account_attributes", "contacts", "contract_lines", "fx", "invoices", "milestones",
               "survey_responses", "tickets", "activities", "usage_daily", "usage_features")


def risk_scores(ctx: StepContext) -> dict:
    """Predictions on as_of from the saved model (`tenure risk train`), trained and saved first
    when none exists. Too little history for a model: the day's predictions are removed and the
    step says why (the account summary is then written without risk)."""
    from tenure.errors import TenureError
    from tenure.predict.risk import load_model, predict_frame, save_model, store_predictions, train_model

    wh, config, as_of = ctx.wh, ctx.config, ctx.as_of
    model = load_model(config)
    trained = False
    if model is None:
        try:
            ctx.progress("training the risk model")
            model, _ = train_model(wh, config, as_of)
        except TenureError as err:
            import pandas as pd

            store_predictions(wh, as_of, pd.DataFrame({"account_id": [], "risk": [], "drivers": []}), 0)
            return {"risk_accounts": 0, "risk_skipped": str(err)}
        save_model(config, model)
        trained = True
    df = predict_frame(wh, config, model, as_of)
    n = store_predictions(wh, as_of, df, model.horizon)
    return {"risk_accounts": n, "risk_model_trained": trained, "risk_horizon_days": model.horizon}


def register(graph: Graph) -> None:
    # "risk_model": not a table but the saved model (models/risk.pkl); `tenure risk train` bumps it
    graph.step("risk_scores", reads=(*RISK_INPUTS, "risk_model", "config.risk", "config.health",
                                     "config.reporting_currency"),
               writes=("risk_scores",), version="1")(risk_scores)
