"""Materialize the `account_summary` snapshot (and the risk predictions it reads).

CONTRACT:
    refresh(wh, config, as_of: date | None = None, progress=None) -> dict
        as_of defaults to the latest day in the data. Computes, in the engine where the data is
        large: health snapshot for as_of (and monthly history for the last 12 months, skipping
        days already stored), risk predictions stored in `risk_scores` (trains and saves a model
        when none exists), the band -> renewal-probability table (health validation, stored), and
        replaces `account_summary` atomically. Idempotent. Returns counts and timings.
    band_renewal_table(wh) -> list[{"band", "accounts", "renewal_probability"}] (stored by refresh)
"""
