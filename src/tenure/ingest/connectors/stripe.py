"""Stripe API list objects as JSON ({"object": "list", "data": [...]}) -> contract_lines, invoices.

Give a folder holding customers.json, subscriptions.json and/or invoices.json (any may be
absent) or one of those files. Customers are identity records (external_id = cus_..., domain
from the email unless it is a free-mail domain, name). Mapping:

  subscription item -> one contract line: line_id = si_... (or sub_...:index), product = price.product
    arr = price.unit_amount x quantity x periods per year / 10^decimals  (interval day 365,
    week 52, month 12, year 1, divided by interval_count; zero-decimal currencies such as JPY
    have no minor unit)
    start_date = subscription start_date; end_date = the day before ended_at (or cancel_at) for
    a canceled subscription, empty while it is active (service continues)
    billing_period = monthly / quarterly / annual / multi_year from the interval; auto_renew =
    not cancel_at_period_end
  invoice -> invoices: invoice_id = in_..., amount = total / 10^decimals, issued_at = created,
    due_at = due_date (or created), paid_at = status_transitions.paid_at
Unix timestamps are UTC.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa

from tenure.errors import InputError
from tenure.ingest.connectors.base import ConnectorOutput

ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
                "XOF", "XPF"}
PER_YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}


def _objects(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not a Stripe JSON list: {err}") from None
    if isinstance(data, dict) and data.get("object") == "list":
        return data.get("data") or []
    if isinstance(data, list):
        return data
    raise InputError(f"{path}: expected a Stripe list object ({{'object': 'list', 'data': [...]}})")


def _day(ts: int | None, minus_one: bool = False) -> str | None:
    if ts is None:
        return None
    d = datetime.fromtimestamp(int(ts), tz=timezone.utc).date()
    return str(d - timedelta(days=1) if minus_one else d)


def _money(amount: int | None, currency: str) -> str | None:
    if amount is None:
        return None
    return str(amount if currency.upper() in ZERO_DECIMAL else amount / 100)


def read(path: Path) -> ConnectorOutput:
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    files = {name: folder / f"{name}.json" for name in ("customers", "subscriptions", "invoices")}
    if not path.is_dir():
        kind = next((obj.get("object") for obj in _objects(path)[:1]), None)
        files = {k: v for k, v in files.items() if v.exists() or v == path}
        if kind not in ("customer", "subscription", "invoice", None):
            raise InputError(f"{path}: Stripe objects of kind {kind!r} are not supported")
    customers = _objects(files["customers"]) if files.get("customers", Path("-")).exists() else []
    subs = _objects(files["subscriptions"]) if files.get("subscriptions", Path("-")).exists() else []
    invoices = _objects(files["invoices"]) if files.get("invoices", Path("-")).exists() else []

    lines: dict[str, list] = {k: [] for k in ("line_id", "account_id", "product", "plan", "start_date", "end_date",
                                              "arr", "currency", "quantity", "billing_period", "auto_renew")}
    for sub in subs:
        ended = sub.get("ended_at") or (sub.get("cancel_at") if sub.get("status") == "canceled" else None)
        items = (sub.get("items") or {}).get("data") or []
        for k, item in enumerate(items):
            price = item.get("price") or item.get("plan") or {}
            rec = price.get("recurring") or {"interval": price.get("interval"),
                                             "interval_count": price.get("interval_count")}
            interval, count = rec.get("interval"), int(rec.get("interval_count") or 1)
            currency = (price.get("currency") or sub.get("currency") or "").upper()
            qty = int(item.get("quantity") or 1)
            unit = price.get("unit_amount")
            arr = None if unit is None or interval not in PER_YEAR else \
                _money(unit * qty * PER_YEAR[interval], currency)
            if arr is not None:
                arr = str(round(float(arr) / count, 2))
            months = {"day": 0, "week": 0, "month": count, "year": 12 * count}.get(interval, 0)
            period = "monthly" if months <= 1 else "quarterly" if months <= 3 else "annual" if months <= 12 else \
                "multi_year"
            lines["line_id"].append(item.get("id") or f"{sub.get('id')}:{k}")
            lines["account_id"].append(sub.get("customer"))
            lines["product"].append(price.get("product") or "subscription")
            lines["plan"].append(price.get("nickname") or price.get("id"))
            lines["start_date"].append(_day(sub.get("start_date") or sub.get("created")))
            lines["end_date"].append(_day(ended, minus_one=True) if ended else None)
            lines["arr"].append(arr)
            lines["currency"].append(currency)
            lines["quantity"].append(str(qty))
            lines["billing_period"].append(period)
            lines["auto_renew"].append("false" if sub.get("cancel_at_period_end") else "true")
    inv: dict[str, list] = {k: [] for k in ("invoice_id", "account_id", "amount", "currency", "issued_at", "due_at",
                                            "paid_at")}
    for i in invoices:
        currency = (i.get("currency") or "").upper()
        inv["invoice_id"].append(i.get("id"))
        inv["account_id"].append(i.get("customer"))
        inv["amount"].append(_money(i.get("total", i.get("amount_due")), currency))
        inv["currency"].append(currency)
        inv["issued_at"].append(_day(i.get("created")))
        inv["due_at"].append(_day(i.get("due_date") or i.get("created")))
        inv["paid_at"].append(_day((i.get("status_transitions") or {}).get("paid_at")))
    entities = {}
    if subs:
        entities["contract_lines"] = pa.table({k: pa.array(v, pa.string()) for k, v in lines.items()})
    if invoices:
        entities["invoices"] = pa.table({k: pa.array(v, pa.string()) for k, v in inv.items()})
    identities = pa.table({
        "external_id": pa.array([c.get("id") for c in customers], pa.string()),
        "email": pa.array([c.get("email") for c in customers], pa.string()),
        "name": pa.array([c.get("name") for c in customers], pa.string()),
        "domain": pa.array([(c.get("metadata") or {}).get("domain") for c in customers], pa.string()),
    })
    return ConnectorOutput(source="stripe", entities=entities, identities=identities, identity_source="stripe")
