"""Churn-risk model: the probability that an account churns (or contracts by more than
`risk.contraction_share`) within a horizon, from the health features plus custom account
attributes. A logistic baseline and a gradient-boosted model (scikit-learn), both calibrated;
per-account top drivers from the logistic model.

Honest evaluation: `backtest(cutoff, horizon)` trains only on as-of dates whose outcome was
known by the cutoff (as_of + horizon <= cutoff) and judges on accounts active at the cutoff,
by what happened in the horizon after it: AUC, PR-AUC, Brier score, a calibration table and
the lift of the top decile. It reads the facts as they were known (tenure.warehouse.versions):
each training date's features as known on that date, training outcomes as known at the cutoff,
the judged accounts' features as known at the cutoff; only the judging outcome is today's truth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from tenure.config import Config
from tenure.errors import InputError
from tenure.health.features import FEATURES, account_features
from tenure.metrics.arr import arr_on
from tenure.warehouse import Warehouse
from tenure.warehouse.asof import latest_event_day
from tenure.warehouse.writes import replace_partition
from tenure.warehouse.versions import as_known, known_before

NUMERIC = [f.name for f in FEATURES]


def _settings(config: Config) -> dict:
    s = {"horizon_days": 180, "contraction_share": None, "training_dates": 6, "step_days": 60}
    s.update(config.risk or {})
    return s


def _attributes(wh: Warehouse, known_at: date | datetime | None = None) -> pd.DataFrame:
    """Custom attributes as columns: numeric ones as numbers, the rest as categories (as known
    at `known_at` when given)."""
    attrs = as_known(wh, "account_attributes", known_at)
    a = wh.execute(attrs.select("account_id", "name", "value", "value_number"))
    if a.empty:
        return pd.DataFrame(columns=["account_id"])
    numeric = a.groupby("name").value_number.apply(lambda s: s.notna().all())
    num = a[a.name.isin(numeric[numeric].index)].pivot(index="account_id", columns="name", values="value_number")
    cat = a[a.name.isin(numeric[~numeric].index)].pivot(index="account_id", columns="name", values="value")
    num.columns = [f"attr_{c}" for c in num.columns]
    cat.columns = [f"attr_{c}" for c in cat.columns]
    return num.join(cat, how="outer").reset_index()


def dataset(wh: Warehouse, config: Config, as_of: date, horizon: int | None = None,
            attributes: pd.DataFrame | None = None, known_at: date | datetime | None = None,
            label_known_at: date | datetime | None = None) -> pd.DataFrame:
    """Features on `as_of` (+ attributes) and, when the horizon is given, the label. Features
    come from the facts as known at `known_at`, the label from those known at `label_known_at`
    (None: the latest version of every fact)."""
    s = _settings(config)
    # a fixed row order: engines return rows in any order, and the fit must be reproducible
    features = account_features(wh, config, as_of, known_at=known_at)
    df = wh.execute(features).sort_values("account_id", ignore_index=True)
    df["as_of"] = as_of
    if attributes is not None and not attributes.empty:
        df = df.merge(attributes, on="account_id", how="left")
    if horizon is not None:
        later = wh.execute(arr_on(wh, config, as_of + timedelta(days=horizon), known_at=label_known_at))
        end = df[["account_id"]].merge(later, on="account_id", how="left").arr.fillna(0).astype(float).to_numpy()
        start = df.arr.astype(float).to_numpy()
        share = s["contraction_share"]
        df["label"] = (end <= 0) | ((end < start * (1 - share)) if share else False)
    return df


@dataclass
class RiskModel:
    """A fitted pair of calibrated classifiers and the feature layout they expect."""

    logistic: Any
    boosted: Any
    columns: list[str]
    categorical: list[str]
    horizon: int

    def _matrix(self, df: pd.DataFrame) -> pd.DataFrame:
        x = pd.DataFrame(index=df.index)
        for c in self.columns:
            x[c] = df[c] if c in df.columns else np.nan
        for c in self.categorical:
            x[c] = x[c].astype("string").fillna("(none)")
        return x

    def predict(self, df: pd.DataFrame, which: str = "boosted") -> np.ndarray:
        model = self.boosted if which == "boosted" else self.logistic
        return model.predict_proba(self._matrix(df))[:, 1]

    def drivers(self, df: pd.DataFrame, top: int = 3) -> list[list[dict]]:
        """Per account, the features pushing its logistic risk up most (coefficient x scaled value)."""
        pipe = self.logistic.calibrated_classifiers_[0].estimator
        pre, lr = pipe.named_steps["pre"], pipe.named_steps["lr"]
        z = pre.transform(self._matrix(df))
        z = z.toarray() if hasattr(z, "toarray") else z
        contrib = z * lr.coef_[0]
        names = pre.get_feature_names_out()
        order = np.argsort(-contrib, axis=1)[:, :top]
        labels = [_driver_name(str(n)) for n in names]
        return [[{"feature": labels[j], "effect": round(float(contrib[i, j]), 3)}
                 for j in order[i] if contrib[i, j] > 0] for i in range(len(df))]


def _driver_name(transformed: str) -> str:
    """A readable driver name from a transformed column ('num__nps_latest' -> 'nps_latest';
    'missingindicator_days_to_renewal' -> 'days_to_renewal missing')."""
    name = transformed.split("__", 1)[-1]
    if name.startswith("missingindicator_"):
        return name[len("missingindicator_"):] + " missing"
    return name


class _DropEmpty:
    """Drop the columns that are missing in every training row before gradient boosting.

    A legal history can have a feature nobody has yet (no NPS survey sent) or one that only
    recent dates have (a calibration fold's training part then sees only missing values);
    HistGradientBoostingClassifier cannot bin a column without a single value. A column with no
    value carries no information, so dropping it changes no prediction."""

    def fit(self, x, y=None):
        x = np.asarray(x, dtype=float)
        self.keep_ = ~np.isnan(x).all(axis=0)
        return self

    def transform(self, x):
        return np.asarray(x, dtype=float)[:, self.keep_]

    def fit_transform(self, x, y=None):
        return self.fit(x, y).transform(x)

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


def fit(train: pd.DataFrame, horizon: int, seed: int = 0) -> RiskModel:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    y = train.label.astype(int).to_numpy()
    if y.sum() < 20 or (1 - y).sum() < 20:
        raise InputError(f"too few churned ({y.sum()}) or retained ({(1 - y).sum()}) accounts to train on")
    attrs = [c for c in train.columns if c.startswith("attr_")]
    categorical = ["segment"] + [c for c in attrs if not pd.api.types.is_numeric_dtype(train[c])]
    numeric = NUMERIC + [c for c in attrs if c not in categorical]
    model = RiskModel(None, None, numeric + categorical, categorical, horizon)
    x = model._matrix(train)
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                          ("scale", StandardScaler())]), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), categorical)])
    logistic = Pipeline([("pre", pre), ("lr", LogisticRegression(max_iter=2000, C=0.5))])
    pre_b = ColumnTransformer([("num", "passthrough", numeric),
                               ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5,
                                                     sparse_output=False), categorical)])
    boosted = Pipeline([("pre", pre_b), ("drop_empty", _DropEmpty()), ("gb", HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, l2_regularization=1.0, random_state=seed))])
    try:
        model.logistic = CalibratedClassifierCV(logistic, method="sigmoid", cv=3).fit(x, y)
        model.boosted = CalibratedClassifierCV(boosted, method="isotonic", cv=3).fit(x, y)
    except ValueError as err:  # degenerate training data (a feature with no variation, tiny folds)
        raise InputError(f"cannot fit the risk model on this history: {err}") from None
    return model


def scores(y: np.ndarray, p: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y).astype(int)
    order = np.argsort(-p)
    top = order[: max(1, len(p) // 10)]
    deciles = pd.qcut(pd.Series(p).rank(method="first"), 10, labels=False)
    calib = pd.DataFrame({"decile": deciles, "p": p, "y": y}).groupby("decile").agg(
        accounts=("y", "size"), predicted=("p", "mean"), observed=("y", "mean")).reset_index()
    base = y.mean()
    return {"accounts": int(len(y)), "churned": int(y.sum()), "auc": round(float(roc_auc_score(y, p)), 4),
            "pr_auc": round(float(average_precision_score(y, p)), 4), "brier": round(float(brier_score_loss(y, p)), 4),
            "top_decile_lift": round(float(y[top].mean() / base), 2) if base else None,
            "calibration": [{k: (round(float(v), 4) if k != "decile" else int(v) + 1) for k, v in r.items()}
                            for r in calib.to_dict(orient="records")]}


def _earlier(a: date | datetime, b: date | datetime) -> date | datetime:
    return a if known_before(a) <= known_before(b) else b


def training_set(wh: Warehouse, config: Config, cutoff: date, horizon: int,
                 known_at: date | datetime | None = None) -> pd.DataFrame:
    """Account-dates whose outcome was known by the cutoff. With `known_at`, each date's
    features (and attributes) are as known on that date and its outcome as known at `known_at`:
    what a model trained at `known_at` could have seen. None: the latest version of every fact."""
    s = _settings(config)
    newest = cutoff - timedelta(days=horizon)  # outcomes known by the cutoff
    days = [newest - timedelta(days=s["step_days"] * k) for k in range(s["training_dates"])]
    if known_at is None:
        attrs = _attributes(wh)
        frames = [dataset(wh, config, d, horizon, attrs) for d in days]
    else:
        frames = [dataset(wh, config, d, horizon, _attributes(wh, _earlier(d, known_at)),
                          known_at=_earlier(d, known_at), label_known_at=known_at) for d in days]
    return pd.concat(frames, ignore_index=True)


def backtest(wh: Warehouse, config: Config, cutoff: date, horizon: int, seed: int = 0,
             return_model: bool = False, known_at: date | datetime | Literal["cutoff"] | None = "cutoff",
             ) -> dict | tuple[dict, RiskModel]:
    """Train on what was known before the cutoff; judge on what happened after it.

    `known_at`: the facts as known at the end of the cutoff day (default), at another day or
    instant, or None for the latest version of every fact (later corrections leak into the
    past; useful only to measure how much)."""
    known = cutoff if known_at == "cutoff" else known_at
    train = training_set(wh, config, cutoff, horizon, known)
    test = dataset(wh, config, cutoff, horizon, _attributes(wh, known), known_at=known)
    latest = latest_event_day(wh)
    if latest is None or cutoff + timedelta(days=horizon) > latest:
        raise InputError(f"the outcome of {cutoff} + {horizon} days is not known yet (data ends {latest})")
    model = fit(train, horizon, seed)
    y = test.label.astype(int).to_numpy()
    report = {"cutoff": str(cutoff), "horizon_days": horizon, "known_at": "latest" if known is None else str(known),
              "trained_on": sorted({str(d) for d in train.as_of}),
              "train_accounts": int(len(train)), "logistic": scores(y, model.predict(test, "logistic")),
              "boosted": scores(y, model.predict(test, "boosted"))}
    return (report, model) if return_model else report


def evaluate_labels(wh: Warehouse, config: Config, labels: pd.DataFrame, as_of: date, folds: int, seed: int = 0,
                    known_at: date | datetime | None = None) -> dict:
    """Cross-validated figures for accounts whose outcomes the user supplies (account_id, churned),
    from their features on `as_of` as known at `known_at` (None: the latest version)."""
    from sklearn.model_selection import StratifiedKFold

    missing = {"account_id", "churned"} - set(labels.columns)
    if missing:
        raise InputError(f"labels file needs columns account_id, churned (missing: {', '.join(sorted(missing))})")
    df = dataset(wh, config, as_of, None, _attributes(wh, known_at), known_at=known_at).merge(
        labels[["account_id", "churned"]], on="account_id")
    if df.empty:
        raise InputError("none of the labelled accounts has features on the as-of date")
    df["label"] = df.churned.astype(int)
    y = df.label.to_numpy()
    p = {"logistic": np.zeros(len(df)), "boosted": np.zeros(len(df))}
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(df, y):
        m = fit(df.iloc[tr], 0, seed)
        for k in p:
            p[k][te] = m.predict(df.iloc[te], k)
    return {"as_of": str(as_of), "folds": folds, "matched_accounts": int(len(df)),
            **{k: scores(y, v) for k, v in p.items()}}


# -- the saved model and stored predictions (tenure risk train/predict, tenure refresh) -----------

def model_path(config: Config):
    """Where `tenure risk train` and `tenure refresh` keep the fitted model."""
    return config.resolve_path("models") / "risk.pkl"


def save_model(config: Config, model: RiskModel):
    import pickle

    path = model_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(model))
    tmp.replace(path)  # atomic: a reader never sees half a model
    return path


def load_model(config: Config) -> RiskModel | None:
    """The saved model, or None when none was trained yet."""
    import pickle

    path = model_path(config)
    return pickle.loads(path.read_bytes()) if path.exists() else None


def train_model(wh: Warehouse, config: Config, cutoff: date | None = None, horizon: int | None = None,
                seed: int = 0, known_at: date | datetime | None = None) -> tuple[RiskModel, pd.DataFrame]:
    """Fit on all history whose outcome is known by `cutoff` (default: the latest day in the data);
    with `known_at`, from the facts as known then (see training_set)."""
    h = horizon or _settings(config)["horizon_days"]
    if cutoff is None:
        cutoff = latest_event_day(wh)
        if cutoff is None:
            raise InputError("no events in the warehouse yet: nothing to train on")
    train = training_set(wh, config, cutoff, h, known_at)
    return fit(train, h, seed), train


def predict_frame(wh: Warehouse, config: Config, model: RiskModel, as_of: date,
                  known_at: date | datetime | None = None) -> pd.DataFrame:
    """Every customer on `as_of` with its features (as known at `known_at`, when given), `risk`
    (boosted) and `drivers`."""
    df = dataset(wh, config, as_of, None, _attributes(wh, known_at), known_at=known_at)
    df["risk"] = model.predict(df) if len(df) else np.zeros(0)
    df["drivers"] = model.drivers(df) if len(df) else []
    return df


def store_predictions(wh: Warehouse, as_of: date, predictions: pd.DataFrame, horizon: int,
                      model: str = "boosted") -> int:
    """Replace the `risk_scores` rows of `as_of` with `predictions` (account_id, risk, drivers);
    idempotent, atomic. Returns the rows written."""
    import json

    import pyarrow as pa

    n = len(predictions)
    data = pa.table({
        "account_id": pa.array(predictions["account_id"].astype(str).tolist(), pa.string()),
        "as_of": pa.array([as_of] * n, pa.date32()),
        "horizon_days": pa.array([int(horizon)] * n, pa.int64()),
        "probability": pa.array(np.clip(predictions["risk"].to_numpy(dtype=float), 0.0, 1.0), pa.float64()),
        "drivers": pa.array([json.dumps(d) for d in predictions["drivers"]], pa.string()),
        "model": pa.array([model] * n, pa.string()),
    })
    return replace_partition(wh, "risk_scores", data, {"as_of": as_of})
