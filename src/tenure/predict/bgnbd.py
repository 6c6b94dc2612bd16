"""BG/NBD model of non-contractual repeat purchasing (Fader, Hardie & Lee 2005, "Counting Your
Customers the Easy Way", Marketing Science 24(2)).

While alive, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after
each purchase they drop out with probability p ~ Beta(a, b). A customer is summarized by
frequency x (repeat purchases), recency t_x (time of the last purchase) and age T (time since
the first), all in one time unit. Everything is vectorized over customers.

Likelihood: L = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x) / B(a, b)
               * [ (alpha+T)^-(r+x) + 1{x>0} a/(b+x-1) (alpha+t_x)^-(r+x) ]
Published CDNOW estimates for reference: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

from tenure.predict.base import Fitter, ModelInputError


def _check(x, t_x, T):
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if not (x.shape == t_x.shape == T.shape) or x.ndim != 1 or x.size == 0:
        raise ModelInputError("frequency, recency and T must be equal-length, non-empty vectors")
    if (x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any():
        raise ModelInputError("need frequency >= 0 and 0 <= recency <= T for every customer")
    return x, t_x, T


class BetaGeoFitter(Fitter):
    param_names = ("r", "alpha", "a", "b")

    def fit(self, frequency, recency, T) -> BetaGeoFitter:
        self.x_, self.t_x_, self.T_ = _check(frequency, recency, T)
        self.n_ = int(self.x_.size)
        self._mle()
        return self

    def _initial(self) -> np.ndarray:
        return np.array([1.0, max(float(np.mean(self.T_)), 1e-3), 1.0, 1.0])

    def _negative_ll(self, params: np.ndarray) -> float:
        r, alpha, a, b = params
        x, t_x, T = self.x_, self.t_x_, self.T_
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                          -np.inf)
        return -float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))

    def expected_purchases(self, t) -> np.ndarray:
        """E[X(t)]: purchases a new customer is expected to make in a period of length t."""
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        t = np.asarray(t, dtype=float)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        x, t_x, T = _check(frequency, recency, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
        return 1 / (1 + odds)

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: purchases expected in the next t for each customer."""
        r, alpha, a, b = (self.params_[k] for k in self.param_names)
        x, t_x, T = _check(frequency, recency, T)
        t = float(t)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        return head * body * self.probability_alive(x, t_x, T)


def simulate(n: int, r: float, alpha: float, a: float, b: float, T: float, seed: int = 0):
    """Customers drawn from the BG/NBD model itself: (frequency, recency, T) arrays. Used to test
    and benchmark the fitter; purchases are drawn one round at a time for all customers at once."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    t, last = np.zeros(n), np.zeros(n)
    x = np.zeros(n, dtype=int)
    alive = np.ones(n, bool)
    for _ in range(400):
        t = t + rng.exponential(1 / lam)
        buy = alive & (t <= T)
        x += buy
        last = np.where(buy, t, last)
        alive = buy & (rng.random(n) > p)
        if not alive.any():
            break
    return x, last, np.full(n, float(T))
