"""Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The Gamma-Gamma Model of
Monetary Value"). A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, gamma);
fitted on customers with at least one repeat purchase: frequency x and mean value m.
Published CDNOW estimates for reference: p = 6.25, q = 3.74, gamma = 15.44."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from tenure.predict.base import Fitter, ModelInputError


class GammaGammaFitter(Fitter):
    param_names = ("p", "q", "gamma")

    def fit(self, frequency, monetary_value) -> GammaGammaFitter:
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        keep = x > 0
        if keep.sum() < 3:
            raise ModelInputError("Gamma-Gamma needs at least 3 customers with repeat purchases")
        if (m[keep] <= 0).any():
            raise ModelInputError("monetary values must be positive")
        self.x_, self.m_ = x[keep], m[keep]
        self.n_ = int(keep.sum())
        self._mle()
        return self

    def _initial(self) -> np.ndarray:
        return np.array([1.0, 1.0, max(float(np.mean(self.m_)), 1e-3)])

    def _negative_ll(self, params: np.ndarray) -> float:
        p, q, g = params
        x, m = self.x_, self.m_
        ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(g) + (p * x - 1) * np.log(m)
              + p * x * np.log(x) - (p * x + q) * np.log(g + m * x))
        return -float(np.sum(ll))

    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, m]: the customer's expected spend per transaction (population mean for x = 0)."""
        p, q, g = (self.params_[k] for k in self.param_names)
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        return (p * (g + m * x)) / (p * x + q - 1)


def customer_lifetime_value(bgnbd, gg, frequency, recency, T, monetary_value, months: int = 12,
                            discount_monthly: float = 0.01, time_unit_days: float = 7.0) -> np.ndarray:
    """CLV over `months`: expected purchases in each month (BG/NBD) x expected spend (Gamma-Gamma),
    discounted monthly. Time unit of the BG/NBD fit given in days (default weeks)."""
    per_month = 30.4375 / time_unit_days
    spend = gg.expected_average_value(frequency, monetary_value)
    total = np.zeros(np.asarray(frequency).shape, dtype=float)
    prev = np.zeros_like(total)
    for k in range(1, months + 1):  # a loop over months, vectorized over customers
        cum = bgnbd.conditional_expected_purchases(k * per_month, frequency, recency, T)
        total += (cum - prev) * spend / (1 + discount_monthly) ** k
        prev = cum
    return total
