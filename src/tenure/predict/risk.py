"""Churn-risk model: the probability that an account churns (or contracts by more than
`risk.contraction_share`) within a horizon, from the health features plus custom account
attributes. A logistic model and a gradient-boosted one with native categories (scikit-learn),
each tuned on inner folds of its training data and Platt-calibrated there (smooth probabilities,
never exactly 0 or 1); per-account drivers from the logistic model, with the raw value and a
readable text (tenure.predict.drivers). `evaluate_labels` holds both against plain scikit-learn
baselines on whatever labels a user brings.

Honest evaluation: `backtest(cutoff, horizon)` trains only on as-of dates whose outcome was
known by the cutoff (as_of + horizon <= cutoff) and judges on accounts active at the cutoff,
by what happened in the horizon after it: AUC, PR-AUC, Brier score, a calibration table and
the lift of the top decile. It reads the facts as they were known (tenure.warehouse.versions):
each training date's features as known on that date, training outcomes as known at the cutoff,
the judged accounts' features as known at the cutoff; only the judging outcome is today's truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
from tenure.warehouse.versions import as_known, known_before
from tenure.warehouse.writes import replace_partition

NUMERIC = [f.name for f in FEATURES]
Progress = Callable[[str, int, int], None]  # progress(description, done, total)


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


# version of the saved model's layout: a model saved by an older tenure is retrained, never half-read
MODEL_VERSION = 2

# small grids tuned on inner folds of the training data only (nested inside any outer evaluation);
# each holds scikit-learn's defaults (C = 1; learning rate 0.1, 31 leaves, 100 trees), so tuning
# can only choose something better on the inner folds than the plain baseline would be
LOGISTIC_GRID = {"lr__C": [0.03, 0.3, 1.0, 3.0]}
BOOSTED_GRID = [{"gb__learning_rate": [0.1], "gb__max_leaf_nodes": [7, 31], "gb__max_iter": [100]},
                {"gb__learning_rate": [0.05], "gb__max_leaf_nodes": [4, 15], "gb__max_iter": [200]}]
INNER_FOLDS = 3


def _log_odds(model, x) -> np.ndarray:
    return np.asarray(model.decision_function(x), dtype=float).ravel()


class TunedCalibrated:
    """An estimator tuned and calibrated on inner folds of its own training data only.

    For each setting of a small grid the inner folds (stratified; grouped by account when an
    account has several rows, so no account is judged by a model that saw it) give out-of-fold
    log-odds; the
    setting with the best out-of-fold AUC wins, a Platt map p = 1 / (1 + exp(-(a s + b))) fitted
    on the winner's out-of-fold log-odds s turns scores into probabilities, and the winner is
    refitted on all the training data. The Platt map is smooth and strictly increasing, so
    probabilities have no plateaus and the ranking is the refitted model's own (isotonic
    calibration's steps gave hundreds of accounts one identical risk, and exactly 0%).
    Probabilities are mapped linearly into [floor, 1 - floor] (p' = floor + (1 - 2 floor) p, still
    strictly increasing: no plateau at the floor) with floor = 0.5 / (n + 1), the Jeffreys
    posterior mean of a rate with no event in n training rows: n rows cannot show a smaller risk.
    `calibration="isotonic"` gives the old step calibration, kept for comparison."""

    def __init__(self, estimator, grid: dict | list[dict], folds: int = INNER_FOLDS, seed: int = 0,
                 calibration: Literal["sigmoid", "isotonic"] = "sigmoid"):
        self.estimator, self.grid, self.folds, self.seed, self.calibration = estimator, grid, folds, seed, calibration

    def fit(self, x: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None = None) -> TunedCalibrated:
        from sklearn.base import clone
        from sklearn.isotonic import IsotonicRegression
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import ParameterGrid, StratifiedGroupKFold, StratifiedKFold

        settings = list(ParameterGrid(self.grid)) or [{}]
        oof = np.zeros((len(settings), len(y)))
        if groups is not None and len(set(groups)) < len(groups):
            folds = StratifiedGroupKFold(self.folds, shuffle=True, random_state=self.seed).split(x, y, groups)
        else:
            folds = StratifiedKFold(self.folds, shuffle=True, random_state=self.seed).split(x, y)
        for tr, te in folds:
            for i, s in enumerate(settings):
                m = clone(self.estimator).set_params(**s).fit(x.iloc[tr], y[tr])
                oof[i, te] = _log_odds(m, x.iloc[te])
        aucs = [roc_auc_score(y, o) for o in oof]
        best = int(np.argmax(aucs))
        self.params_, self.inner_auc_ = settings[best], round(float(aucs[best]), 4)
        self.estimator_ = clone(self.estimator).set_params(**self.params_).fit(x, y)
        self.floor_ = 0.5 / (len(y) + 1)
        if self.calibration == "isotonic":
            self.map_ = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(oof[best], y)
        else:
            self.map_ = LogisticRegression(C=1e6).fit(oof[best].reshape(-1, 1), y)
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        s = _log_odds(self.estimator_, x)
        if self.calibration == "isotonic":
            p = self.map_.predict(s)
        else:
            p = self.floor_ + (1 - 2 * self.floor_) * self.map_.predict_proba(s.reshape(-1, 1))[:, 1]
        return np.column_stack([1 - p, p])


class _BoostFrame:
    """Gradient boosting's input: numeric features as floats (minus the columns missing in every
    training row, which cannot be binned and carry no information: a feature nobody has yet, such
    as NPS before any survey) and categorical attributes as pandas categories, which
    HistGradientBoostingClassifier splits natively (categorical_features="from_dtype"). Levels
    beyond the MAX_LEVELS most frequent, and levels unseen in training, become missing."""

    MAX_LEVELS = 250

    def __init__(self, numeric: list[str], categorical: list[str]):
        self.numeric, self.categorical = numeric, categorical

    def fit(self, x: pd.DataFrame, y=None) -> _BoostFrame:
        self.keep_ = [c for c in self.numeric if x[c].notna().any()]
        self.levels_ = {c: list(x[c].value_counts().index[: self.MAX_LEVELS]) for c in self.categorical}
        return self

    def transform(self, x: pd.DataFrame) -> pd.DataFrame:
        out = x[self.keep_].astype(float)
        for c in self.categorical:
            out[c] = pd.Categorical(x[c], categories=self.levels_[c])
        return out

    def fit_transform(self, x, y=None):
        return self.fit(x, y).transform(x)

    def get_params(self, deep=True):
        return {"numeric": self.numeric, "categorical": self.categorical}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self


class _DropEmpty:
    """Drop the columns that are missing in every training row before gradient boosting (the
    one-hot baseline's input; see _BoostFrame)."""

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


@dataclass
class RiskModel:
    """A fitted pair of calibrated classifiers and the feature layout they expect.

    logistic: standard-scaled numeric features (median-imputed, with missing-value indicators)
    and one-hot categories; boosted: histogram gradient boosting with native categories. Both
    tuned and Platt-calibrated on inner folds (TunedCalibrated). `reference` holds the 25th and
    75th percentile of each numeric feature over the training rows (what "low" and "high" mean
    in a driver's text)."""

    logistic: Any
    boosted: Any
    columns: list[str]
    categorical: list[str]
    horizon: int
    reference: dict[str, tuple[float, float]] = field(default_factory=dict)
    version: int = MODEL_VERSION

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.columns if c not in self.categorical]

    def _matrix(self, df: pd.DataFrame) -> pd.DataFrame:
        x = pd.DataFrame(index=df.index)
        for c in self.columns:
            if c in self.categorical:
                col = df[c] if c in df.columns else pd.Series(pd.NA, index=df.index)
                x[c] = col.astype("string").fillna("(none)")
            else:
                x[c] = pd.to_numeric(df[c], errors="coerce").astype(float) if c in df.columns else np.nan
        return x

    def predict(self, df: pd.DataFrame, which: str = "boosted") -> np.ndarray:
        model = self.boosted if which == "boosted" else self.logistic
        return model.predict_proba(self._matrix(df))[:, 1]

    def tuned(self) -> dict:
        """The hyper-parameters the inner folds chose, and their inner out-of-fold AUC."""
        return {k: {"params": m.params_, "inner_auc": m.inner_auc_}
                for k, m in (("logistic", self.logistic), ("boosted", self.boosted))}

    def drivers(self, df: pd.DataFrame, top: int = 3) -> list[list[dict]]:
        """Per account, the features pushing its logistic risk up most: coefficient x scaled value,
        summed over a feature's columns (its value and its missing-value indicator; a category's
        one-hot level), with the raw value and a readable text (tenure.predict.drivers)."""
        from tenure.predict.drivers import describe

        pipe = self.logistic.estimator_
        pre, lr = pipe.named_steps["pre"], pipe.named_steps["lr"]
        x = self._matrix(df)
        z = pre.transform(x)
        z = z.toarray() if hasattr(z, "toarray") else np.asarray(z)
        sources = [_source(str(n), self.numeric, self.categorical) for n in pre.get_feature_names_out()]
        features = list(dict.fromkeys(sources))
        to_feature = np.zeros((len(sources), len(features)))
        to_feature[np.arange(len(sources)), [features.index(s) for s in sources]] = 1.0
        effect = (z * lr.coef_[0]) @ to_feature
        order = np.argsort(-effect, axis=1)[:, :top]
        cat = set(self.categorical)
        out = []
        for i, row in enumerate(order):
            out.append([describe(features[j], x[features[j]].iat[i] if features[j] in x else None,
                                 float(effect[i, j]), features[j] in cat, self.reference.get(features[j]))
                        for j in row if effect[i, j] > 0])
        return out


def _source(transformed: str, numeric: list[str], categorical: list[str]) -> str:
    """The feature a transformed column of the logistic model comes from: 'num__nps_latest' and
    'num__missingindicator_nps_latest' -> 'nps_latest'; 'cat__segment_SMB' -> 'segment'."""
    name = transformed.split("__", 1)[-1]
    name = name.removeprefix("missingindicator_")
    if name in numeric:
        return name
    return next((c for c in sorted(categorical, key=len, reverse=True) if name.startswith(c + "_")), name)


def _estimators(numeric: list[str], categorical: list[str], seed: int) -> tuple[Any, Any]:
    """tenure's two (untuned) pipelines: logistic and gradient boosting with native categories."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                          ("scale", StandardScaler())]), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), categorical)])
    logistic = Pipeline([("pre", pre), ("lr", LogisticRegression(max_iter=5000))])
    boosted = Pipeline([("pre", _BoostFrame(numeric, categorical)), ("gb", HistGradientBoostingClassifier(
        categorical_features="from_dtype", random_state=seed))])
    return logistic, boosted


def _layout(train: pd.DataFrame) -> tuple[list[str], list[str]]:
    attrs = [c for c in train.columns if c.startswith("attr_")]
    categorical = ["segment"] + [c for c in attrs if not pd.api.types.is_numeric_dtype(train[c])]
    numeric = NUMERIC + [c for c in attrs if c not in categorical]
    return numeric, categorical


def fit(train: pd.DataFrame, horizon: int, seed: int = 0,
        calibration: Literal["sigmoid", "isotonic"] = "sigmoid") -> RiskModel:
    """Tune, calibrate and fit both models on `train` (features and a boolean `label`)."""
    y = train.label.astype(int).to_numpy()
    if y.sum() < 20 or (1 - y).sum() < 20:
        raise InputError(f"too few churned ({y.sum()}) or retained ({(1 - y).sum()}) accounts to train on")
    numeric, categorical = _layout(train)
    model = RiskModel(None, None, numeric + categorical, categorical, horizon)
    x = model._matrix(train)
    q = x[numeric].quantile([0.25, 0.75])
    model.reference = {c: (float(q[c].iloc[0]), float(q[c].iloc[1])) for c in numeric if q[c].notna().all()}
    logistic, boosted = _estimators(numeric, categorical, seed)
    try:
        groups = train.account_id.astype(str).to_numpy() if "account_id" in train.columns else None
        model.logistic = TunedCalibrated(logistic, LOGISTIC_GRID, seed=seed, calibration=calibration).fit(x, y, groups)
        model.boosted = TunedCalibrated(boosted, BOOSTED_GRID, seed=seed, calibration=calibration).fit(x, y, groups)
    except ValueError as err:  # degenerate training data (a feature with no variation, tiny folds)
        raise InputError(f"cannot fit the risk model on this history: {err}") from None
    return model


def baselines(numeric: list[str], categorical: list[str], seed: int = 0) -> dict[str, Any]:
    """Plain scikit-learn models with default settings on the same columns, to hold tenure's
    models against: logistic regression (median-imputed, standard-scaled, one-hot), gradient
    boosting (median-imputed, one-hot) and histogram gradient boosting (one-hot)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def onehot():
        return OneHotEncoder(handle_unknown="ignore", sparse_output=False)

    impute = SimpleImputer(strategy="median", keep_empty_features=True)
    return {
        "logistic_regression": Pipeline([("pre", ColumnTransformer([
            ("num", Pipeline([("impute", impute), ("scale", StandardScaler())]), numeric),
            ("cat", onehot(), categorical)])), ("lr", LogisticRegression(max_iter=5000))]),
        "gradient_boosting": Pipeline([("pre", ColumnTransformer([
            ("num", SimpleImputer(strategy="median", keep_empty_features=True), numeric),
            ("cat", onehot(), categorical)])), ("gb", GradientBoostingClassifier(random_state=seed))]),
        "hist_gradient_boosting": Pipeline([("pre", ColumnTransformer([
            ("num", "passthrough", numeric), ("cat", onehot(), categorical)])), ("drop_empty", _DropEmpty()),
            ("gb", HistGradientBoostingClassifier(random_state=seed))]),
    }


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
                 known_at: date | datetime | None = None, progress: Progress | None = None,
                 steps_after: int = 0) -> pd.DataFrame:
    """Account-dates whose outcome was known by the cutoff. With `known_at`, each date's
    features (and attributes) are as known on that date and its outcome as known at `known_at`:
    what a model trained at `known_at` could have seen. None: the latest version of every fact.
    `progress(description, done, total)` hears of each date (total counts `steps_after` more)."""
    s = _settings(config)
    newest = cutoff - timedelta(days=horizon)  # outcomes known by the cutoff
    days = [newest - timedelta(days=s["step_days"] * k) for k in range(s["training_dates"])]

    def tick(i: int, d: date) -> date:
        if progress:
            progress(f"training features on {d}", i, len(days) + steps_after)
        return d

    if known_at is None:
        attrs = _attributes(wh)
        frames = [dataset(wh, config, tick(i, d), horizon, attrs) for i, d in enumerate(days)]
    else:
        frames = [dataset(wh, config, tick(i, d), horizon, _attributes(wh, _earlier(d, known_at)),
                          known_at=_earlier(d, known_at), label_known_at=known_at) for i, d in enumerate(days)]
    return pd.concat(frames, ignore_index=True)


def backtest(wh: Warehouse, config: Config, cutoff: date, horizon: int, seed: int = 0,
             return_model: bool = False, known_at: date | datetime | Literal["cutoff"] | None = "cutoff",
             progress: Progress | None = None) -> dict | tuple[dict, RiskModel]:
    """Train on what was known before the cutoff; judge on what happened after it.

    `known_at`: the facts as known at the end of the cutoff day (default), at another day or
    instant, or None for the latest version of every fact (later corrections leak into the
    past; useful only to measure how much)."""
    known = cutoff if known_at == "cutoff" else known_at
    train = training_set(wh, config, cutoff, horizon, known, progress, steps_after=2)
    n = len(set(train.as_of))
    if progress:
        progress(f"features on the cutoff {cutoff}", n, n + 2)
    test = dataset(wh, config, cutoff, horizon, _attributes(wh, known), known_at=known)
    latest = latest_event_day(wh)
    if latest is None or cutoff + timedelta(days=horizon) > latest:
        raise InputError(f"the outcome of {cutoff} + {horizon} days is not known yet (data ends {latest})")
    if progress:
        progress("tuning and fitting the models", n + 1, n + 2)
    model = fit(train, horizon, seed)
    if progress:
        progress("done", n + 2, n + 2)
    y = test.label.astype(int).to_numpy()
    report = {"cutoff": str(cutoff), "horizon_days": horizon, "known_at": "latest" if known is None else str(known),
              "trained_on": sorted({str(d) for d in train.as_of}),
              "train_accounts": int(len(train)), "logistic": scores(y, model.predict(test, "logistic")),
              "boosted": scores(y, model.predict(test, "boosted"))}
    return (report, model) if return_model else report


# columns of a labels file that date each label: features are taken on that day, and the
# evaluation trains on earlier days and tests on later ones
LABEL_DATE_COLUMNS = ("as_of", "date")
AUC_TOLERANCE = 0.005  # tenure's best model must be within this AUC of the best plain baseline


def _churned(values: pd.Series, rows: pd.Index) -> np.ndarray:
    """The churned column as 0/1 (1/0, true/false, yes/no); anything else names its row."""
    words = {"1": 1, "0": 0, "1.0": 1, "0.0": 0, "true": 1, "false": 0, "yes": 1, "no": 0}
    mapped = values.astype("string").str.strip().str.lower().map(words)
    bad = mapped.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"labels row {int(rows[i]) + 2}, column churned: {values.iloc[i]!r} is not 0/1 or "
                         "true/false; fix the value")
    return mapped.astype(int).to_numpy()


def labelled_set(wh: Warehouse, config: Config, labels: pd.DataFrame, as_of: date,
                 known_at: date | datetime | None = None, progress: Progress | None = None) -> pd.DataFrame:
    """Features of the labelled accounts with a `label` column: on each label's own date when the
    file dates its labels (column as_of or date), else on `as_of`."""
    missing = {"account_id", "churned"} - set(labels.columns)
    if missing:
        raise InputError(f"labels file needs columns account_id, churned (missing: {', '.join(sorted(missing))})")
    date_col = next((c for c in LABEL_DATE_COLUMNS if c in labels.columns), None)
    lab = pd.DataFrame({"account_id": labels.account_id.astype(str), "label": _churned(labels.churned, labels.index)})
    if date_col:
        days = pd.to_datetime(labels[date_col], errors="coerce")
        if days.isna().any():
            i = int(np.flatnonzero(days.isna().to_numpy())[0])
            raise InputError(f"labels row {i + 2}, column {date_col}: {labels[date_col].iloc[i]!r} is not a date "
                             "(YYYY-MM-DD); fix it, or drop the column to cross-validate undated labels")
        lab["day"] = days.dt.date.to_numpy()
    else:
        lab["day"] = as_of
    attrs = _attributes(wh, known_at)
    frames = []
    all_days = sorted(lab.day.unique())
    for i, d in enumerate(all_days):
        if progress:
            progress(f"features on {d}", i, len(all_days))
        part = lab[lab.day == d].drop(columns="day").drop_duplicates("account_id", keep="last")
        frames.append(dataset(wh, config, d, None, attrs, known_at=known_at).merge(part, on="account_id"))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        known = "" if known_at is None else (f" from the facts as known at {known_at} (data loaded later is not seen; "
                                             "give --known-at latest to use every fact's latest version)")
        raise InputError("none of the labelled accounts has features (ARR > 0) on "
                         + (f"its label's date ({date_col})" if date_col else f"the as-of date {as_of}") + known)
    df.attrs["dated"] = date_col is not None
    return df


def _splits(df: pd.DataFrame, folds: int, seed: int) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Stratified k-fold for undated labels; for dated ones, contiguous blocks of days (about
    equal rows each): train on every block before block b, test on block b."""
    from sklearn.model_selection import StratifiedKFold

    y = df.label.to_numpy()
    if not df.attrs.get("dated"):
        return (f"stratified {folds}-fold cross-validation (the labels have no dates)",
                list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(df, y)))
    per_day = df.groupby("as_of").size().sort_index()
    blocks = min(folds + 1, len(per_day))
    if blocks < 2:
        raise InputError("the labels are all dated the same day: a time split needs at least two days "
                         "(or drop the date column to cross-validate)")
    before = (per_day.cumsum() - per_day) / len(df)
    block_of_day = np.minimum((before.to_numpy() * blocks).astype(int), blocks - 1)
    block = df.as_of.map(dict(zip(per_day.index, block_of_day))).to_numpy()
    splits = [(np.flatnonzero(block < b), np.flatnonzero(block == b)) for b in range(1, blocks)]
    splits = [(tr, te) for tr, te in splits if len(te) and len(set(y[tr])) == 2]
    if not splits:
        raise InputError("the dated labels cannot be split by time (no later block with earlier churned and "
                         "retained accounts to train on)")
    return (f"time split: trained on earlier days, tested on later ones ({len(splits)} splits over "
            f"{len(per_day)} days, {per_day.index[0]} to {per_day.index[-1]})", splits)


def evaluate_labels(wh: Warehouse, config: Config, labels: pd.DataFrame, as_of: date, folds: int, seed: int = 0,
                    known_at: date | datetime | None = None, progress: Progress | None = None) -> dict:
    """Out-of-sample figures for accounts whose outcomes the user supplies (account_id, churned,
    and optionally as_of/date), for tenure's models and for plain scikit-learn baselines on the
    same columns. Undated labels are cross-validated (stratified k-fold) on their features on
    `as_of`; dated labels are split by time (train on earlier days, test on later ones), each on
    its own day's features. Features are as known at `known_at` (None: the latest version).
    tenure's models tune on inner folds of each training part only (nested), the baselines keep
    scikit-learn's defaults. `comparison` says whether tenure's best AUC is within
    AUC_TOLERANCE of the best baseline's, or above it."""
    df = labelled_set(wh, config, labels, as_of, known_at, progress)
    validation, splits = _splits(df, folds, seed)
    numeric, categorical = _layout(df)
    x = RiskModel(None, None, numeric + categorical, categorical, 0)._matrix(df)
    y = df.label.to_numpy()
    names = ["logistic", "boosted", *baselines(numeric, categorical, seed)]
    p = {k: np.full(len(df), np.nan) for k in names}
    tuned = []
    for i, (tr, te) in enumerate(splits):
        if progress:
            progress(f"split {i + 1} of {len(splits)}: fitting tenure's models and the baselines", i, len(splits))
        m = fit(df.iloc[tr], 0, seed)
        tuned.append(m.tuned())
        for k in ("logistic", "boosted"):
            p[k][te] = m.predict(df.iloc[te], k)
        for k, b in baselines(numeric, categorical, seed).items():
            p[k][te] = b.fit(x.iloc[tr], y[tr]).predict_proba(x.iloc[te])[:, 1]
    if progress:
        progress("done", len(splits), len(splits))
    tested = ~np.isnan(p["logistic"])
    result = {k: scores(y[tested], v[tested]) for k, v in p.items()}
    best_t = max(("logistic", "boosted"), key=lambda k: result[k]["auc"])
    best_b = max(names[2:], key=lambda k: result[k]["auc"])
    gap = round(result[best_t]["auc"] - result[best_b]["auc"], 4)
    return {"as_of": str(as_of), "validation": validation, "dated_labels": bool(df.attrs.get("dated")),
            "folds": folds, "splits": len(splits), "matched_accounts": int(len(df)),
            "tested_accounts": int(tested.sum()),
            "logistic": result["logistic"], "boosted": result["boosted"],
            "baselines": {k: result[k] for k in names[2:]},
            "comparison": {"tenure_best": best_t, "tenure_auc": result[best_t]["auc"], "baseline_best": best_b,
                           "baseline_auc": result[best_b]["auc"], "auc_difference": gap,
                           "tolerance": AUC_TOLERANCE, "ok": bool(gap >= -AUC_TOLERANCE)},
            "tuned": tuned}


# -- the saved model and stored predictions (tenure risk train/predict, tenure refresh) -----------

def arr_at_risk(arr: Any, risk: Any) -> Any:
    """ARR at risk: an account's ARR x its churn risk (reporting currency, per year; NULL without a
    risk score). The one definition: the portfolio, the cockpit, the executive page, the API and
    the voice of the customer's rankings use it (on Ibis columns)."""
    return arr.cast("float64") * risk


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
    """The saved model, or None when none was trained yet or it was saved by an older layout
    (MODEL_VERSION): such a model is retrained, never half-read."""
    import pickle

    path = model_path(config)
    if not path.exists():
        return None
    try:
        model = pickle.loads(path.read_bytes())
    except (AttributeError, ImportError, pickle.UnpicklingError):  # classes renamed since it was saved
        return None
    return model if getattr(model, "version", 1) == MODEL_VERSION else None


def train_model(wh: Warehouse, config: Config, cutoff: date | None = None, horizon: int | None = None,
                seed: int = 0, known_at: date | datetime | None = None,
                progress: Progress | None = None) -> tuple[RiskModel, pd.DataFrame]:
    """Fit on all history whose outcome is known by `cutoff` (default: the latest day in the data);
    with `known_at`, from the facts as known then (see training_set)."""
    h = horizon or _settings(config)["horizon_days"]
    if cutoff is None:
        cutoff = latest_event_day(wh)
        if cutoff is None:
            raise InputError("no events in the warehouse yet: nothing to train on")
    train = training_set(wh, config, cutoff, h, known_at, progress, steps_after=1)
    n = len(set(train.as_of))
    if progress:
        progress("tuning and fitting the models", n, n + 1)
    model = fit(train, h, seed)
    if progress:
        progress("done", n + 1, n + 1)
    return model, train


def predict_frame(wh: Warehouse, config: Config, model: RiskModel, as_of: date,
                  known_at: date | datetime | None = None, progress: Progress | None = None) -> pd.DataFrame:
    """Every customer on `as_of` with its features (as known at `known_at`, when given), `risk`
    (boosted) and `drivers`."""
    if progress:
        progress(f"features on {as_of}", 0, 3)
    df = dataset(wh, config, as_of, None, _attributes(wh, known_at), known_at=known_at)
    if progress:
        progress("scoring", 1, 3)
    df["risk"] = model.predict(df) if len(df) else np.zeros(0)
    if progress:
        progress("drivers", 2, 3)
    df["drivers"] = model.drivers(df) if len(df) else []
    if progress:
        progress("done", 3, 3)
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
