"""BG/NBD and Gamma-Gamma fit time on simulated customers.

    python -m bench clv --customers 100000
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.common import peak_rss_mib, timed, write_results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench clv")
    ap.add_argument("--customers", type=int, default=100_000)
    args = ap.parse_args(argv)
    from tenure.predict.bgnbd import BetaGeoFitter
    from tenure.predict.gammagamma import GammaGammaFitter

    from tenure.predict.bgnbd import simulate

    n, T = args.customers, 52.0
    x, last, _ = simulate(n, 0.5, 4.0, 0.8, 2.5, T, seed=0)
    rng = np.random.default_rng(1)
    nu = rng.gamma(4.0, 1 / 15.0, n)
    m = np.where(x > 0, rng.gamma(6.0 * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), 0.0)
    bg_s, bg = timed(lambda: BetaGeoFitter().fit(x, last, np.full(n, T)))
    gg_s, gg = timed(lambda: GammaGammaFitter().fit(x, m))
    results = {"customers": n, "bgnbd_fit_seconds": round(bg_s, 2), "bgnbd_params": bg.params_,
               "gammagamma_fit_seconds": round(gg_s, 2), "gammagamma_params": gg.params_,
               "true_params": {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "gamma": 15.0},
               "peak_rss_mib": peak_rss_mib()}
    path = write_results("clv", results)
    import json

    print(f"wrote {path}")
    print(json.dumps(results, indent=2))
    return 0
