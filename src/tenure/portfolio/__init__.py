"""Portfolio: the book-of-business read models the web app, the API and the cockpit use.

`summary` materializes one row per account (ARR, health, risk, renewal) from the compute stages
(metrics, health, predict). The questions asked of it, always answered in the engine and scoped by
the owners the caller may see (None = all), live one module per question:

    accounts     which accounts: the portfolio list (filter, sort, page), its export, owner_of
    account360   one account: header with contacts and attributes, usage, health history, timeline
    renewals     who renews in a window, with the band's renewal probability, and the totals
    churn        the ARR churned in a period by churn reason (adds up to the bridge's churn)
    cockpit      top risks, what changed in the last days, signals by ARR at stake, band history
    read         how they ask: Ibis expressions with scalar parameters, built once, bound per call
    wording      the words shown beside the numbers (timeline events, changes, money)
"""
