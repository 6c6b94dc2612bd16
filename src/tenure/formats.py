"""How tenure writes money for people: with its currency, compact ($1.2M, €340k) or exact
($1,234,567). One definition for every page, the API's titles and the CLI."""

from __future__ import annotations

from typing import Any


def number_or_none(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$",
                    "NZD": "NZ$", "BRL": "R$", "CHF": "CHF ", "SEK": "SEK ", "NOK": "NOK ", "DKK": "DKK "}
_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def currency_prefix(currency: str | None) -> str:
    """"$" for USD, "€" for EUR, otherwise the ISO code and a space ("PLN ")."""
    code = (currency or "USD").upper()
    return CURRENCY_SYMBOLS.get(code, code + " ")


def money(v: Any, currency: str | None = "USD", sign: bool = False) -> str:
    """Money with its currency, in compact units: $1.2M, €340k, £12.5k, $980 ('–' when unknown).
    One decimal below 100 of a unit, none above; `sign` puts + before positive amounts (deltas).
    The one money formatter of every page (the `money` filter; the page's reporting currency)."""
    f = number_or_none(v)
    if f is None:
        return "–"
    a = abs(f)
    text = None
    for i, (limit, suffix) in enumerate(_UNITS):
        if a >= limit * 0.9995 or (i == len(_UNITS) - 1 and a >= 999.5):
            x = a / limit
            shown = f"{x:.1f}" if round(x, 1) < 100 else f"{x:.0f}"
            if float(shown) >= 1000 and i > 0:  # 999,960 -> 1M, not 1000k
                x, suffix = a / _UNITS[i - 1][0], _UNITS[i - 1][1]
                shown = f"{x:.1f}"
            text = shown.removesuffix(".0") + suffix
            break
    if text is None:
        text = f"{a:,.0f}" if a >= 1 or a == 0 else f"{a:.2f}"
    minus = f < 0 and text not in ("0", "0.00")
    return ("-" if minus else ("+" if sign and f > 0 else "")) + currency_prefix(currency) + text


def money_exact(v: Any, currency: str | None = "USD", places: int | None = 0) -> str:
    """Money in full with its currency: $1,234,567 (for titles and totals a reader checks).
    places=None: cents only when there are any ($1,200, $1,234.50)."""
    f = number_or_none(v)
    if f is None:
        return "–"
    if places is None:
        places = 0 if round(f, 2) == int(f) else 2
    return ("-" if f < 0 else "") + currency_prefix(currency) + f"{abs(f):,.{places}f}"


def json_default(v: Any) -> Any:
    """What json.dumps writes for values JSON has no type for: dates and times as ISO text,
    decimals (money) as numbers, anything else as its text."""
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return str(v)
