"""Benchmarks with scale factors. Run `python -m bench NAME [options]`; results go to
bench/results/NAME.json and are summarized in docs/performance.md. Each benchmark measures its
baseline in the same run and reports ratios, since these machines are noisy."""
