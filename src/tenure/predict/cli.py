"""`tenure clv fit MODEL FILE`: retention and CLV models fitted by maximum likelihood."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

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


def register(app: typer.Typer) -> None:
    app.add_typer(clv_app, name="clv")
