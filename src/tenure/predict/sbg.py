"""Shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, "How to
Project Customer Retention", Journal of Interactive Marketing 21(1)).

Each customer churns at the end of any period with a probability theta that stays fixed for
them; theta varies across customers as Beta(alpha, beta). Then

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)          t = 1, 2, ...
    S(t)     = B(alpha, beta + t) / B(alpha, beta)                    survival to the end of t
    r(t)     = (beta + t - 1) / (alpha + beta + t - 1)               retention rate in period t

Fitted to the survivors of a cohort at the end of each period (n_0 at the start). The log-
likelihood is sum_t (n_{t-1} - n_t) ln P(T = t) + n_T ln S(T).

    >>> SBGFitter().fit([1000, 631, 468, 382, 326, 289, 262, 241]).params_  # doctest: +SKIP
    {'alpha': 0.704, 'beta': 1.182}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import betaln, hyp2f1

from tenure.predict.base import Fitter, ModelInputError


class SBGFitter(Fitter):
    param_names = ("alpha", "beta")

    def fit(self, survivors: Sequence[float]) -> SBGFitter:
        """survivors: customers alive at the start (index 0) and at the end of each period."""
        n = np.asarray(survivors, dtype=float)
        if n.ndim != 1 or n.size < 3:
            raise ModelInputError("sBG needs survivor counts for at least two periods after the start")
        if (n < 0).any() or (np.diff(n) > 0).any():
            raise ModelInputError("survivor counts must be non-negative and never increase")
        self.survivors_ = n
        self.n_ = int(n[0])
        self._mle()
        return self

    def _negative_ll(self, params: np.ndarray) -> float:
        a, b = params
        n = self.survivors_
        t = np.arange(1, n.size)
        churned = n[:-1] - n[1:]
        log_p = betaln(a + 1, b + t - 1) - betaln(a, b)
        log_s_last = betaln(a, b + t[-1]) - betaln(a, b)
        return -float(np.sum(churned * log_p) + n[-1] * log_s_last)

    def _initial(self) -> np.ndarray:
        return np.array([1.0, 1.0])

    # -- projections ---------------------------------------------------------------
    def survival(self, t: np.ndarray | Sequence[int]) -> np.ndarray:
        """Share of the cohort still active at the end of period t (S(0) = 1)."""
        a, b = self.params_["alpha"], self.params_["beta"]
        t = np.asarray(t, dtype=float)
        return np.exp(betaln(a, b + t) - betaln(a, b))

    def retention(self, t: np.ndarray | Sequence[int]) -> np.ndarray:
        """Retention rate in period t: S(t) / S(t - 1)."""
        a, b = self.params_["alpha"], self.params_["beta"]
        t = np.asarray(t, dtype=float)
        return (b + t - 1) / (a + b + t - 1)

    def discounted_expected_lifetime(self, discount: float) -> float:
        """Expected discounted number of periods a new customer pays for (DEL), paying at the start
        of each period: sum_t S(t-1) / (1 + d)^(t-1) = 2F1(1, beta; alpha + beta; 1 / (1 + d))."""
        a, b = self.params_["alpha"], self.params_["beta"]
        return float(hyp2f1(1, b, a + b, 1 / (1 + discount)))

    def clv(self, value_per_period: float, discount: float) -> float:
        """Expected lifetime value of a new customer paying value_per_period each period."""
        return value_per_period * self.discounted_expected_lifetime(discount)
