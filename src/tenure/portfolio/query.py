"""Questions the web app and API ask about accounts, answered in the engine (Ibis) from the
`account_summary` snapshot and the fact tables. Every function takes `owners`: the accounts.owner
values the caller may see (None = all), so book-of-business scoping is applied in one place.

CONTRACT (used by tenure.api.routers and tenure.web.pages; keep signatures stable):

    SORTABLE: tuple[str, ...]   columns list_accounts can sort by

    @dataclass AccountFilter(q=None, segment=None, region=None, owner=None, band=None, tier=None,
                             status="customer", min_risk=None, renewal_within_days=None,
                             owners=None)
        q: case-insensitive substring of account_id, name or domain. status: customer | churned |
        prospect | None (all). owners: scope (list of accounts.owner values) or None.

    @dataclass Page(rows: list[dict], total: int, page: int, page_size: int)   (+ .pages property)

    list_accounts(wh, flt, sort="arr", descending=True, page=1, page_size=50) -> Page
        rows are account_summary rows as plain dicts (dates as date, money as float, risk_drivers
        parsed to a list). page_size is capped at 500. Unknown sort -> InputError.
    export_accounts(wh, flt, sort="arr", descending=True) -> pyarrow.Table   (all matching rows)
    get_account(wh, account_id) -> dict | None        (summary row + "contacts": [..] + attributes)
    timeline(wh, account_id, limit=200) -> list[dict]
        newest first; each {"at": datetime|date, "kind": contract|ticket|survey|activity|milestone|
        signal|churn|opportunity|invoice, "title": str, "detail": str, plus kind-specific keys}.
    usage_series(wh, account_id, days=180) -> list[{"day": date, "events": float, "active_users": int}]
    health_history(wh, account_id) -> list[{"as_of", "score", "band", "components": [...]}]
    renewals(wh, owners, within_days=180, limit=500) -> list[dict]
        accounts whose renewal_date is within the window, soonest first, with "renewal_probability"
        (the band -> renewal-probability table from the health validation) and
        "expected_renewal_arr" = renewal_arr x renewal_probability.
    changes_since(wh, owners, days=7) -> list[dict]
        band moves (band_30 vs band or score change), new early-warning signals, risk jumps.
    band_distribution(wh, owners=None) -> list[{"as_of": date, "band": str, "accounts": int, "arr": float}]
        from the health_scores history (one row per snapshot day and band).
    top_risks(wh, owners=None, limit=10) -> list[dict]   by ARR at risk (arr x risk), highest first
    owner_of(wh, account_id) -> str | None  (NotFoundError when the account does not exist)
"""
