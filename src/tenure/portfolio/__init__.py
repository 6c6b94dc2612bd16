"""Portfolio: the book-of-business read models the web app, the API and the cockpit use.

`summary.refresh` materializes one row per account (ARR, health, risk, renewal) from the compute
stages (metrics, health, predict); `query` answers filtered, sorted, paged, scoped questions
about accounts, an account's 360 timeline, renewals and what changed, always in the engine.
"""
