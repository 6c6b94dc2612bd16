"""`tenure clv fit MODEL FILE`: retention and CLV models fitted by maximum likelihood."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from tenure.schema.versions import KNOWN_AT_HELP, resolve_known_at

console = Console()
clv_app = typer.Typer(help="Retention and CLV models (sBG, BG/NBD, Gamma-Gamma) fitted by maximum likelihood.",
                      no_args_is_help=True)


def _read_csv(path: Path):
    import pandas as pd

    from tenure.predict.base import ModelInputError

    if not path.exists():
        raise ModelInputError(f"{path}: no such file")
    return pd.read_csv(path)


@clv_app.command("fit")
def fit(
    model: str = typer.Argument(..., help="sbg, bgnbd or gammagamma"),
    file: Path = typer.Argument(..., help="sbg: survivors per period (a period column and one column per cohort); "
                                "bgnbd / gammagamma: a transaction log"),
    periods: int = typer.Option(None, "--periods", help="sbg: fit only the first N periods after the start"),
    customer_col: str = typer.Option("customer_id", "--customer-col"),
    date_col: str = typer.Option("date", "--date-col"),
    value_col: str = typer.Option(None, "--value-col"),
    calibration_end: str = typer.Option(None, "--calibration-end", help="last day used for fitting"),
    time_unit: str = typer.Option("week", "--time-unit", help="day, week or month"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Fit a model; print parameters, standard errors and the log-likelihood."""
    from tenure.predict.base import ModelInputError

    df = _read_csv(file)
    results = []
    if model == "sbg":
        from tenure.predict.sbg import SBGFitter

        cohorts = [c for c in df.columns if c.lower() not in ("period", "year", "month", "t")]
        if not cohorts:
            raise ModelInputError(f"{file}: no cohort columns besides the period column")
        for c in cohorts:
            counts = df[c].dropna().tolist()
            counts = counts[: periods + 1] if periods else counts
            results.append({"cohort": c, **SBGFitter().fit(counts).to_dict()})
    elif model in ("bgnbd", "gammagamma"):
        from tenure.predict.rfm import rfm_summary

        end = calibration_end or str(df[date_col].max()) if date_col in df.columns else None
        if model == "gammagamma" and not value_col:
            raise ModelInputError("gammagamma needs --value-col")
        rfm = rfm_summary(df, customer_col, date_col, value_col, end, time_unit)
        if model == "bgnbd":
            from tenure.predict.bgnbd import BetaGeoFitter

            results.append({"calibration_end": end, "time_unit": time_unit,
                            **BetaGeoFitter().fit(rfm.frequency, rfm.recency, rfm["T"]).to_dict()})
        else:
            from tenure.predict.gammagamma import GammaGammaFitter

            results.append({"calibration_end": end, **GammaGammaFitter().fit(rfm.frequency,
                                                                               rfm.monetary_value).to_dict()})
    else:
        raise ModelInputError(f"unknown model {model!r}: use sbg, bgnbd or gammagamma")
    if as_json:
        typer.echo(json.dumps(results if len(results) > 1 else results[0], indent=2))
        return
    for r in results:
        t = Table(title=f"{r['model']} {r.get('cohort', '')} (n = {r['n']}, log-likelihood = {r['log_likelihood']:.3f})")
        t.add_column("parameter")
        t.add_column("estimate", justify="right")
        t.add_column("std. error", justify="right")
        for k, v in r["params"].items():
            t.add_row(k, f"{v:.4g}", f"{r['standard_errors'][k]:.3g}")
        console.print(t)




risk_app = typer.Typer(help="Churn-risk model: calibrated probabilities, drivers, honest time-based backtests.",
                       no_args_is_help=True)
ConfigOpt = typer.Option(None, "--config", help="tenure.yaml (default: nearest, or TENURE_CONFIG)")


def _open(config_path):
    from tenure.warehouse import open_project

    return open_project(config_path)


AsOfOpt = typer.Option(None, "--as-of", help="YYYY-MM-DD (default: the latest day with events, at most yesterday)")
KnownAtOpt = typer.Option(None, "--known-at", help=KNOWN_AT_HELP)


def _latest(wh, as_of: str | None = None):
    """`--as-of` when given, else the one "as of" (tenure.warehouse.asof)."""
    from tenure.warehouse.asof import require_as_of

    return require_as_of(wh, as_of)


def _dump(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


@contextmanager
def _progress(first: str):
    """A Rich progress bar on stderr (stdout stays clean for --json), removed when done; yields
    the callback the risk functions report to: progress(description, done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<48}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(first, total=None)
        yield lambda desc, done, total: bar.update(task, description=desc, completed=done, total=total)


@risk_app.command("backtest")
def backtest_cmd(cutoff: str = typer.Option(..., "--cutoff", help="train on what was known by this day"),
                 horizon: int = typer.Option(180, "--horizon", help="days after the cutoff"),
                 seed: int = typer.Option(0, "--seed"), as_json: bool = typer.Option(False, "--json"),
                 known_at: str = typer.Option(None, "--known-at", help=KNOWN_AT_HELP.replace("--as-of", "--cutoff")),
                 config_path: Path = ConfigOpt) -> None:
    """Train only on outcomes known before the cutoff, from the facts as known then; judge on
    what happened after it."""
    from datetime import date

    from tenure.predict.risk import backtest

    config, wh = _open(config_path)
    try:
        day = date.fromisoformat(cutoff)
        with _progress("training features") as progress:
            report = backtest(wh, config, day, horizon, seed, known_at=resolve_known_at(known_at, day),
                              progress=progress)
    finally:
        wh.close()
    if as_json:
        _dump(report)
        return
    t = Table(title=f"risk backtest: cutoff {cutoff}, churn within {horizon} days "
                    f"(trained on {', '.join(report['trained_on'])})")
    for c in ("model", "accounts", "churned", "AUC", "PR-AUC", "Brier", "top-decile lift"):
        t.add_column(c, justify="left" if c == "model" else "right")
    for k in ("logistic", "boosted"):
        r = report[k]
        t.add_row(k, str(r["accounts"]), str(r["churned"]), f"{r['auc']:.3f}", f"{r['pr_auc']:.3f}",
                  f"{r['brier']:.4f}", f"{r['top_decile_lift']:.2f}")
    console.print(t)
    c = Table(title="calibration (boosted), by decile of predicted risk")
    for col in ("decile", "accounts", "predicted", "observed"):
        c.add_column(col, justify="right")
    for r in report["boosted"]["calibration"]:
        c.add_row(str(r["decile"]), f"{r['accounts']:.0f}", f"{r['predicted']:.3f}", f"{r['observed']:.3f}")
    console.print(c)


@risk_app.command("train")
def train_cmd(horizon: int = typer.Option(None, "--horizon"), seed: int = typer.Option(0, "--seed"),
              as_of: str = AsOfOpt, known_at: str = KnownAtOpt, config_path: Path = ConfigOpt) -> None:
    """Train on all history whose outcome is known and save the model (models/risk.pkl)."""
    from tenure.predict.risk import save_model, train_model

    config, wh = _open(config_path)
    try:
        day = _latest(wh, as_of)
        with _progress("training features") as progress:
            model, train = train_model(wh, config, day, horizon, seed,
                                       known_at=resolve_known_at(known_at, day if as_of else None), progress=progress)
    finally:
        wh.close()
    path = save_model(config, model)
    from tenure.jobs import versions

    versions.bump(config, ["risk_model"])  # the next refresh predicts with the new model
    console.print(f"trained on {len(train):,} account-dates ({int(train.label.sum())} churned); saved {path}")


@risk_app.command("predict")
def predict_cmd(limit: int = typer.Option(20, "--limit"), as_json: bool = typer.Option(False, "--json"),
                as_of: str = AsOfOpt, known_at: str = KnownAtOpt, config_path: Path = ConfigOpt) -> None:
    """Churn probability for every customer now, with each account's top drivers (stored in
    risk_scores for the web app and API)."""
    from tenure.errors import NotFoundError
    from tenure.predict.risk import load_model, model_path, predict_frame, store_predictions

    config, wh = _open(config_path)
    model = load_model(config)
    if model is None:
        wh.close()
        raise NotFoundError(f"no model trained by this version of tenure at {model_path(config)}; "
                            "run `tenure risk train`")
    try:
        day = _latest(wh, as_of)
        with _progress("features") as progress:
            df = predict_frame(wh, config, model, day, known_at=resolve_known_at(known_at, day if as_of else None),
                               progress=progress)
            progress("storing the predictions", 3, 4)
            store_predictions(wh, day, df, model.horizon)
    finally:
        wh.close()
    df = df.sort_values("risk", ascending=False)
    rows = df[["account_id", "segment", "arr", "risk", "drivers"]].to_dict(orient="records")
    if as_json:
        _dump({"as_of": str(day), "horizon_days": model.horizon, "accounts": rows})
        return
    t = Table(title=f"churn risk within {model.horizon} days, as of {day}")
    for c in ("account_id", "segment", "ARR", "risk", "top drivers"):
        t.add_column(c, justify="right" if c in ("ARR", "risk") else "left")
    for r in rows[:limit]:
        t.add_row(r["account_id"], str(r["segment"]), f"{float(r['arr']):,.0f}", f"{r['risk']:.1%}",
                  "; ".join(d.get("text", d["feature"]) for d in r["drivers"]))
    console.print(t)


@risk_app.command("evaluate")
def evaluate_cmd(labels: Path = typer.Option(..., "--labels", help="CSV with account_id, churned (0/1) and optionally "
                                             "as_of or date (the day each label is judged from)"),
                 folds: int = typer.Option(5, "--folds"), as_of: str = typer.Option(None, "--as-of"),
                 known_at: str = KnownAtOpt,
                 seed: int = typer.Option(0, "--seed"), as_json: bool = typer.Option(False, "--json"),
                 config_path: Path = ConfigOpt) -> None:
    """Out-of-sample figures for accounts whose outcomes you supply, beside plain scikit-learn
    baselines on the same columns. Undated labels are cross-validated (stratified k-fold); labels
    with an as_of or date column are split by time (train on earlier days, test on later ones)."""
    from tenure.predict.risk import evaluate_labels

    df = _read_csv(labels)
    config, wh = _open(config_path)
    try:
        day = _latest(wh, as_of)
        with _progress("reading the labelled accounts' features") as progress:
            report = evaluate_labels(wh, config, df, day, folds, seed,
                                     known_at=resolve_known_at(known_at, day if as_of else None), progress=progress)
    finally:
        wh.close()
    if as_json:
        _dump(report)
        return
    t = Table(title=f"risk evaluate: {report['validation']}; {report['tested_accounts']:,} of "
                    f"{report['matched_accounts']:,} labelled accounts tested")
    for c in ("model", "kind", "AUC", "PR-AUC", "Brier", "top-decile lift"):
        t.add_column(c, justify="left" if c in ("model", "kind") else "right")
    rows = [(k, "tenure", report[k]) for k in ("logistic", "boosted")]
    rows += [(k.replace("_", " "), "baseline (scikit-learn defaults)", r) for k, r in report["baselines"].items()]
    for name, kind, r in rows:
        lift = "–" if r["top_decile_lift"] is None else f"{r['top_decile_lift']:.2f}"
        t.add_row(name, kind, f"{r['auc']:.3f}", f"{r['pr_auc']:.3f}", f"{r['brier']:.4f}", lift)
    console.print(t)
    c = report["comparison"]
    verdict = "within tolerance" if c["ok"] else "BELOW the baseline"
    console.print(f"tenure's best ({c['tenure_best']}, AUC {c['tenure_auc']:.3f}) vs the best baseline "
                  f"({c['baseline_best'].replace('_', ' ')}, AUC {c['baseline_auc']:.3f}): "
                  f"{c['auc_difference']:+.3f} ({verdict}, tolerance {c['tolerance']})")


def register(app: typer.Typer) -> None:
    app.add_typer(clv_app, name="clv")
    app.add_typer(risk_app, name="risk")
