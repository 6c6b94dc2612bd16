"""The fitter shape shared by tenure's statistical models (after lifelines' fitters):
`fit(...)` returns self; fitted results are attributes with trailing underscores —
`params_`, `standard_errors_`, `log_likelihood_`, `n_` — and `summary()` / `to_dict()` show them.

Parameters are estimated by maximum likelihood with SciPy on the log scale (so they stay
positive); standard errors come from the inverse of the observed information matrix, the
Hessian of the negative log-likelihood at the optimum, taken by central differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize

from tenure.errors import InputError


class ModelInputError(InputError):
    """The data given to a model cannot be fitted (wrong shape, negative counts, ...)."""


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray, rel_step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function at x."""
    x = np.asarray(x, dtype=float)
    k = x.size
    h = rel_step * np.maximum(np.abs(x), 1e-2)
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.zeros(k), np.zeros(k)
            ei[i], ej[j] = h[i], h[j]
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
            out[i, j] = out[j, i] = v
    return out


class Fitter:
    """Base of the MLE fitters: subclasses define `param_names`, `_negative_ll(params)` and
    `_initial()`; `_mle()` does the rest."""

    param_names: Sequence[str] = ()
    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_: int

    def _negative_ll(self, params: np.ndarray) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _initial(self) -> np.ndarray:
        return np.ones(len(self.param_names))

    def _mle(self) -> None:
        def objective(log_params: np.ndarray) -> float:
            value = self._negative_ll(np.exp(log_params))
            return value if np.isfinite(value) else 1e300

        start = np.log(self._initial())
        res = optimize.minimize(objective, start, method="L-BFGS-B", options={"maxiter": 2000, "ftol": 1e-13})
        if not res.success:  # a derivative-free fallback for awkward likelihood surfaces
            nm = optimize.minimize(objective, res.x, method="Nelder-Mead",
                                   options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 4000})
            res = nm if nm.fun <= res.fun else res
        params = np.exp(res.x)
        self.params_ = dict(zip(self.param_names, params.tolist()))
        self.log_likelihood_ = -float(res.fun)
        info = hessian(self._negative_ll, params)
        try:
            cov = np.linalg.inv(info)
            se = np.sqrt(np.clip(np.diag(cov), 0, None))
        except np.linalg.LinAlgError:
            se = np.full(len(params), np.nan)
        self.standard_errors_ = dict(zip(self.param_names, se.tolist()))

    def to_dict(self) -> dict:
        return {"model": type(self).__name__, "params": self.params_, "standard_errors": self.standard_errors_,
                "log_likelihood": self.log_likelihood_, "n": self.n_}

    def summary(self) -> str:
        lines = [f"{type(self).__name__}: n = {self.n_}, log-likelihood = {self.log_likelihood_:.4f}",
                 f"{'param':<10}{'estimate':>14}{'std err':>14}"]
        for k in self.param_names:
            lines.append(f"{k:<10}{self.params_[k]:>14.6g}{self.standard_errors_[k]:>14.4g}")
        return "\n".join(lines)
