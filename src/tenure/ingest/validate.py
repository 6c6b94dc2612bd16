"""Validation driven only by the schema (tenure.schema): types, required values, enums, ranges,
cross-column checks and references to accounts. Rules compile to SQL run in the staging DuckDB
engine over a whole chunk at once: no Python loop over rows.

Accepted text forms (documented in docs/data-formats.md):
  date       2026-09-30, 2026/09/30, 20260930, or an ISO timestamp (its UTC date). Day-first and
             month-first forms (30/09/2026, 09/30/2026) are rejected: they are ambiguous.
  month      2026-09, 2026/09, or any accepted date (its month)
  timestamp  ISO 8601: 2026-09-30T14:05:00Z, with an offset (+02:00) or none (taken as UTC);
             a plain date means midnight UTC
  int/float  plain numbers (1234, -3.5, 1e3); no thousands separators
  money      a plain decimal number, rounded to cents; no thousands separators or symbols
  bool       true/false, t/f, yes/no, y/n, 1/0 (any case)
  currency   three letters (any case; stored upper-case)
  timezone   an IANA time zone name known to the zoneinfo database (any case; stored in its
             canonical spelling, e.g. europe/berlin -> Europe/Berlin)
  locale     a well-formed BCP 47 tag: language, optional script, optional region, variants
             (`_` counts as `-`; stored in canonical case, e.g. EN_us -> en-US, zh-hant-tw -> zh-Hant-TW)
  enum       any case; spaces and dashes count as underscores (Exec Sponsor -> exec_sponsor)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from datetime import date, timedelta
from typing import Any

from tenure.errors import InputError
from tenure.schema import Column, Table
from tenure.schema.facts import SURVEY_SCORE_RANGE
from tenure.warehouse.sql import ident, literal

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]

# The accepted range of every date, month and timestamp (settings ingest.min_date / max_date).
MIN_DATE = date(1970, 1, 1)
MAX_DATE = date(2100, 12, 31)

# Tables whose money is converted through fx: a line in a currency with no fx rate is rejected
# (its ARR would otherwise silently drop out of every total).
PRICED = {"contract_lines": "currency"}

# Names an extra accounts column cannot take as a custom attribute: they are columns of the
# metric tables an attribute is grouped into (`?by=NAME`), or dimensions of contract lines.
RESERVED_ATTRIBUTES = frozenset({
    "account_id", "period", "first_day", "last_day", "opening_day", "opening", "closing", "kind", "arr",
    "new", "reactivation", "expansion", "contraction", "churn", "first_start", "last_before", "rate",
    "opening_accounts", "closing_accounts", "new_accounts", "reactivated_accounts", "churned_accounts",
    "expanded_accounts", "contracted_accounts", "source", "ingested_at",
})

# reason code -> what it means (docs/data-formats.md lists these)
REASONS = {
    "required": "a required value is empty",
    "bad_date": "not a date in an accepted form",
    "bad_month": "not a month (YYYY-MM) or date",
    "bad_timestamp": "not an ISO 8601 timestamp",
    "bad_number": "not a number",
    "bad_integer": "not a whole number",
    "bad_bool": "not true/false",
    "bad_currency": "not a 3-letter currency code",
    "bad_timezone": "not an IANA time zone name (e.g. Europe/Berlin, America/New_York)",
    "bad_locale": "not a BCP 47 language tag (e.g. en-US, de-DE, pt-BR, zh-Hant-TW)",
    "enum": "not one of the allowed values",
    "range": "outside the allowed range",
    "unknown_account": "account_id does not exist (load accounts first)",
    "end_not_before_start": "ends before it starts",
    "due_not_before_issued": "due before it was issued",
    "resolved_not_before_opened": "resolved before it was opened",
    "response_not_before_opened": "first response before it was opened",
    "active_to_after_from": "active_to is before active_from",
    "score_in_kind_range": "score outside the range of its survey kind",
    "unresolved_account": "the source's account could not be matched to a master account",
    "ambiguous_account": "the source's account matches several master accounts",
    "date_range": "a date outside the accepted range (ingest.min_date to ingest.max_date)",
    "no_fx_rate": "a currency with no fx rate (load its fx rates first)",
    "bad_row": "the row cannot be read (wrong number of values, or a line that is not a JSON object)",
}

TYPE_REASON = {
    "date": "bad_date",
    "month": "bad_month",
    "timestamp": "bad_timestamp",
    "int": "bad_integer",
    "float": "bad_number",
    "money": "bad_number",
    "rate": "bad_number",
    "bool": "bad_bool",
    "currency": "bad_currency",
    "timezone": "bad_timezone",
    "locale": "bad_locale",
}

SQL_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "money": "DECIMAL(18,2)",
    "rate": "DECIMAL(20,10)",
    "date": "DATE",
    "month": "DATE",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
    "currency": "VARCHAR",
    "timezone": "VARCHAR",
    "locale": "VARCHAR",
}

# A well-formed BCP 47 tag (RFC 5646 "langtag", lower-cased, without extlang or the 5-8 letter
# languages reserved for future registration, so "english" is refused): language, script,
# region, variants, extensions, private use. Grandfathered tags are not accepted.
LOCALE_PATTERN = (r"([a-z]{2,3})(-[a-z]{4})?(-([a-z]{2}|[0-9]{3}))?(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"
                  r"(-[0-9a-wy-z](-[a-z0-9]{2,8})+)*(-x(-[a-z0-9]{1,8})+)?")


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA time zone names ingestion accepts: those the zoneinfo database (the tzdata
    package where the system has none) can load, the same that send emails (tenure.notify)."""
    from zoneinfo import available_timezones

    return tuple(sorted(z for z in available_timezones()
                        if z not in ("Factory", "localtime") and not z.startswith(("posix/", "right/"))))


def _timezone_expr(t: str) -> str:
    """The canonical zone name of the text (any case), NULL when it is not one."""
    zones = time_zones()
    canon = "[" + ", ".join(lit(z) for z in zones) + "]"
    lower = "[" + ", ".join(lit(z.lower()) for z in zones) + "]"
    return f"{canon}[list_position({lower}, LOWER({t}))]"


def _locale_expr(t: str) -> str:
    """The tag in canonical case (language lower, script title, region upper), NULL when it is not
    well formed. Subtags after the language are cased only before the first singleton."""
    norm = f"REPLACE(LOWER({t}), '_', '-')"
    parts = f"string_split({norm}, '-')"
    # position of the first singleton (extension or private use), or past the end
    first_single = f"COALESCE(list_position(list_transform({parts}, x -> LENGTH(x) = 1), TRUE), 99)"
    cased = (f"array_to_string(list_transform({parts}, (x, i) -> CASE "
             f"WHEN i = 1 OR i >= {first_single} THEN x "
             f"WHEN LENGTH(x) = 4 AND regexp_full_match(x, '[a-z]{{4}}') THEN UPPER(x[1]) || x[2:] "
             f"WHEN LENGTH(x) = 2 THEN UPPER(x) ELSE x END), '-')")
    return f"CASE WHEN regexp_full_match({norm}, {lit(LOCALE_PATTERN)}) THEN {cased} END"


@dataclass(frozen=True)
class Bounds:
    """What a file is checked against beyond its own table's rules: the accepted date range and,
    for priced tables, the currencies that have an fx rate with the day of their first rate
    (None: not checked)."""

    min_date: date = MIN_DATE
    max_date: date = MAX_DATE
    reporting_currency: str = "USD"
    fx_currencies: dict[str, date] | None = None


def bounds_for(wh: Any, config: Any, table: Table) -> Bounds:
    """The bounds for ingesting `table` with this config, reading the known fx currencies from
    the warehouse when the table is priced."""
    ing = getattr(config, "ingest", None)
    lo = getattr(ing, "min_date", None) or MIN_DATE
    hi = getattr(ing, "max_date", None) or MAX_DATE
    reporting = getattr(config, "reporting_currency", "USD")
    fx = None
    if table.name in PRICED:
        t = wh.table("fx")
        got = wh.execute(t.group_by("currency").aggregate(first=t.date.min()))
        fx = {str(c): (d.date() if hasattr(d, "date") else d) for c, d in zip(got["currency"], got["first"])
              if c is not None}
    return Bounds(lo, hi, reporting, fx)


def check_attribute_names(file_label: str, extras: Iterable[str]) -> None:
    """Extra columns of an accounts file become attributes; a reserved name is a file error."""
    bad = sorted(x for x in extras if x.lower() in RESERVED_ATTRIBUTES or x.startswith("__"))
    if bad:
        raise InputError(
            f"{file_label}: column(s) {', '.join(bad)} cannot become custom account attributes: the names are "
            f"reserved for tenure's own columns ({', '.join(sorted(RESERVED_ATTRIBUTES))}). Rename them, "
            f"e.g. attr_{bad[0]}. Nothing was loaded")


def usage_fast_checks(names: Iterable[str], bounds: Bounds) -> str:
    """Extra conditions (SQL, starting with AND) of the typed-Parquet usage fast path, so that it
    accepts exactly what the general rules accept: ts within the date range, a finite quantity."""
    lo, hi = bounds.min_date.isoformat(), (bounds.max_date + timedelta(days=1)).isoformat()
    parts = [f"CAST(ts AS TIMESTAMP) >= TIMESTAMP {lit(lo)} AND CAST(ts AS TIMESTAMP) < TIMESTAMP {lit(hi)}"]
    if "quantity" in names:
        parts.append("(quantity IS NULL OR isfinite(CAST(quantity AS DOUBLE)))")
    return " AND " + " AND ".join(parts)


q = ident  # a quoted column name


def lit(value: object) -> str:
    """A SQL literal of a rule: None, booleans and numbers as such, anything else as text."""
    return literal(value if value is None or isinstance(value, (bool, int, float)) else str(value))


def _text(col: str) -> str:
    """The raw value as trimmed text, NULL when empty."""
    return f"NULLIF(TRIM(CAST({q(col)} AS VARCHAR)), '')"


def parse_expr(column: Column, source_type: str | None) -> str:
    """SQL turning the raw value into the column's type, NULL when it does not parse."""
    c = q(column.name)
    st = (source_type or "VARCHAR").upper()
    t = _text(column.name)
    if column.type in ("string",):
        return t
    if column.type == "currency":
        return f"CASE WHEN regexp_full_match(UPPER({t}), '[A-Z]{{3}}') THEN UPPER({t}) END"
    if column.type == "timezone":
        return _timezone_expr(t)
    if column.type == "locale":
        return _locale_expr(t)
    if column.type == "bool":
        if st == "BOOLEAN":
            return c
        return (f"CASE WHEN LOWER({t}) IN ('true','t','yes','y','1') THEN TRUE "
                f"WHEN LOWER({t}) IN ('false','f','no','n','0') THEN FALSE END")
    if column.type == "int":
        if st in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
            return f"TRY_CAST({c} AS BIGINT)"
        return (f"CASE WHEN isfinite(TRY_CAST({t} AS DOUBLE)) AND TRY_CAST({t} AS DOUBLE) = FLOOR(TRY_CAST({t} AS DOUBLE)) "
                f"AND ABS(TRY_CAST({t} AS DOUBLE)) < 9e15 THEN CAST(TRY_CAST({t} AS DOUBLE) AS BIGINT) END")
    if column.type == "float":
        if st in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER") or st.startswith("DECIMAL"):
            return f"CASE WHEN isfinite(CAST({c} AS DOUBLE)) THEN CAST({c} AS DOUBLE) END"
        return f"CASE WHEN isfinite(TRY_CAST({t} AS DOUBLE)) THEN TRY_CAST({t} AS DOUBLE) END"
    if column.type in ("money", "rate"):
        target = SQL_TYPES[column.type]
        if st in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER") or st.startswith("DECIMAL"):
            return (f"CASE WHEN isfinite(CAST({c} AS DOUBLE)) THEN "
                    f"TRY_CAST(ROUND(CAST({c} AS DOUBLE), {2 if column.type == 'money' else 10}) AS {target}) END")
        return f"CASE WHEN isfinite(TRY_CAST({t} AS DOUBLE)) THEN TRY_CAST(TRY_CAST({t} AS DOUBLE) AS {target}) END" \
            if column.type == "rate" else \
            f"CASE WHEN isfinite(TRY_CAST({t} AS DOUBLE)) THEN TRY_CAST(ROUND(TRY_CAST({t} AS DECIMAL(38,10)), 2) AS {target}) END"
    if column.type == "timestamp":
        if st.startswith("TIMESTAMP WITH"):
            return f"CAST(timezone('UTC', {c}) AS TIMESTAMP)"
        if st.startswith("TIMESTAMP") or st == "DATE":
            return f"CAST({c} AS TIMESTAMP)"
        return (f"COALESCE(CAST(timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ)) AS TIMESTAMP), "
                f"CAST(TRY_CAST({t} AS DATE) AS TIMESTAMP))")
    if column.type == "date":
        if st == "DATE":
            return c
        if st.startswith("TIMESTAMP"):
            return f"CAST({c} AS DATE)"
        fmts = "[" + ", ".join(lit(f) for f in DATE_FORMATS) + "]"
        return (f"COALESCE(CAST(try_strptime({t}, {fmts}) AS DATE), "
                f"CASE WHEN LENGTH({t}) > 10 THEN CAST(CAST(timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ)) AS TIMESTAMP) AS DATE) END)")
    if column.type == "month":
        if st == "DATE" or st.startswith("TIMESTAMP"):
            return f"CAST(date_trunc('month', {c}) AS DATE)"
        fmts = "[" + ", ".join(lit(f) for f in DATE_FORMATS) + "]"
        return (f"CAST(date_trunc('month', COALESCE(try_strptime({t}, ['%Y-%m', '%Y/%m']), "
                f"try_strptime({t}, {fmts}))) AS DATE)")
    raise ValueError(f"unknown logical type {column.type}")


def enum_norm(expr: str) -> str:
    return f"REPLACE(REPLACE(LOWER({expr}), ' ', '_'), '-', '_')"


@dataclass
class Rule:
    column: str | None
    reason: str
    condition: str  # SQL over the parsed relation: TRUE when the row breaks the rule
    value: str  # SQL giving the offending value as text
    message: str  # SQL giving the message


def _date_rule(col: Column, raw_txt: str, bounds: Bounds) -> Rule:
    parsed = q(col.name)
    lo, hi = bounds.min_date, bounds.max_date
    if col.type == "timestamp":
        cond = (f"{parsed} IS NOT NULL AND ({parsed} < TIMESTAMP {lit(lo.isoformat())} "
                f"OR {parsed} >= TIMESTAMP {lit((hi + timedelta(days=1)).isoformat())})")
    else:
        cond = f"{parsed} IS NOT NULL AND ({parsed} < DATE {lit(lo.isoformat())} OR {parsed} > DATE {lit(hi.isoformat())})"
    message = (f"{lit(col.name + ': ')} || COALESCE({raw_txt}, '') || "
               f"{lit(f' is outside the accepted dates {lo} to {hi} (settings ingest.min_date, ingest.max_date)')}")
    return Rule(col.name, "date_range", cond, raw_txt, message)


def _fx_rule(col: str, raw_txt: str, bounds: Bounds) -> Rule:
    """The line's currency needs an fx rate (unless it is the reporting currency): without one
    its ARR converts to nothing. (A line starting before its currency's first rate is loaded:
    that partial gap is not checked here.)"""
    known = sorted(c for c in (bounds.fx_currencies or {}) if c != bounds.reporting_currency)
    cur, to = q(col), bounds.reporting_currency
    listed = f" AND {cur} NOT IN ({', '.join(lit(c) for c in known)})" if known else ""
    cond = f"{cur} IS NOT NULL AND {cur} <> {lit(to)}{listed}"
    fix = "; its ARR would be left out of every total. Load fx rates for it first, then this file again"
    message = f"{lit(col + ': ')} || {cur} || {lit(' has no fx rate to ' + to + fix)}"
    return Rule(col, "no_fx_rate", cond, raw_txt, message)


def build_rules(table: Table, present: set[str], has_accounts_ref: bool, bounds: Bounds | None = None) -> list[Rule]:
    """Every rule that applies to a file with the given columns. `bounds` (default: the default
    date range, no fx check) adds the date range and, for priced tables, the fx check."""
    bounds = bounds or Bounds()
    rules: list[Rule] = [Rule(None, "bad_row", "__error IS NOT NULL", "NULL", "__error")]
    for col in table.file_columns:
        raw = f"__raw_{col.name}"
        parsed = q(col.name)
        raw_txt = f"NULLIF(TRIM(CAST({q(raw)} AS VARCHAR)), '')" if col.name in present else "NULL"
        if not col.nullable and col.default is None:
            rules.append(Rule(col.name, "required", f"{raw_txt} IS NULL", "''",
                              lit(f"{col.name} is required")))
        if col.name in present and col.type in TYPE_REASON:
            reason = TYPE_REASON[col.type]
            rules.append(Rule(col.name, reason, f"{raw_txt} IS NOT NULL AND {parsed} IS NULL", raw_txt,
                              lit(f"{col.name}: {REASONS[reason]}")))
        if col.enum and col.name in present:
            allowed = ", ".join(lit(v) for v in col.enum)
            rules.append(Rule(col.name, "enum", f"{parsed} IS NOT NULL AND {parsed} NOT IN ({allowed})", raw_txt,
                              lit(f"{col.name}: must be one of {', '.join(col.enum)}")))
        if col.name in present and (col.min is not None or col.max is not None):
            conds = []
            if col.min is not None:
                conds.append(f"{parsed} < {col.min!r}")
            if col.max is not None:
                conds.append(f"{parsed} > {col.max!r}")
            allowed_range = f"between {col.min:g} and {col.max:g}" if col.min is not None and col.max is not None \
                else (f">= {col.min:g}" if col.min is not None else f"<= {col.max:g}")
            rules.append(Rule(col.name, "range", f"{parsed} IS NOT NULL AND ({' OR '.join(conds)})", raw_txt,
                              lit(f"{col.name}: must be {allowed_range}")))
        if col.name in present and col.type in ("date", "month", "timestamp"):
            rules.append(_date_rule(col, raw_txt, bounds))
        if col.name in present and PRICED.get(table.name) == col.name and bounds.fx_currencies is not None:
            rules.append(_fx_rule(col.name, raw_txt, bounds))
        if col.references == "accounts.account_id" and has_accounts_ref:
            rules.append(Rule(col.name, "unknown_account",
                              f"{parsed} IS NOT NULL AND {parsed} NOT IN (SELECT account_id FROM __known_accounts)",
                              raw_txt, lit(f"{col.name}: {REASONS['unknown_account']}")))
    pairs = {
        "end_not_before_start": ("start_date", "end_date"),
        "due_not_before_issued": ("issued_at", "due_at"),
        "resolved_not_before_opened": ("opened_at", "resolved_at"),
        "response_not_before_opened": ("opened_at", "first_response_at"),
        "active_to_after_from": ("active_from", "active_to"),
    }
    for check in table.checks:
        if check.name in pairs:
            first, second = pairs[check.name]
            if {first, second} <= present:
                rules.append(Rule(second, check.name, f"{q(second)} < {q(first)}",
                                  f"CAST({q(second)} AS VARCHAR)", lit(f"{check.description} is false")))
        elif check.name == "score_in_kind_range" and {"kind", "score"} <= present:
            cases = " ".join(
                f"WHEN {q('kind')} = {lit(k)} THEN {q('score')} NOT BETWEEN {lo} AND {hi}"
                for k, (lo, hi) in SURVEY_SCORE_RANGE.items()
            )
            rules.append(Rule("score", "score_in_kind_range", f"COALESCE(CASE {cases} END, FALSE)",
                              f"CAST({q('score')} AS VARCHAR)",
                              "'score ' || CAST(score AS VARCHAR) || ' is outside the range of ' || kind"))
        else:  # a check defined in the schema must be implemented here
            raise NotImplementedError(f"row check {check.name!r} of table {table.name} has no implementation")
    return rules


def parsed_select(table: Table, present: set[str], source_types: dict[str, str]) -> str:
    """SELECT list turning raw staged columns into typed ones, keeping raw copies for errors.
    `__error` (why the reader could not read a row) is kept, NULL when the source has none."""
    parts = ["__file", "__row", "__error" if "__error" in source_types else "CAST(NULL AS VARCHAR) AS __error"]
    for col in table.file_columns:
        if col.name in present:
            expr = parse_expr(col, source_types.get(col.name))
            if col.enum:
                expr = enum_norm(expr)
            if col.default is not None:  # only an empty value takes the default; a bad one is an error
                expr = f"CASE WHEN {_text(col.name)} IS NULL THEN {lit(col.default)} ELSE {expr} END"
            parts.append(f"{q(col.name)} AS {q('__raw_' + col.name)}")
        else:
            expr = f"CAST({lit(col.default)} AS {SQL_TYPES[col.type]})"
        parts.append(f"CAST({expr} AS {SQL_TYPES[col.type]}) AS {q(col.name)}")
    return ", ".join(parts)


def errors_sql(rules: list[Rule], parsed: str) -> str:
    """One row per broken rule: __file, __row, column, value, reason, message. A row the reader
    could not read breaks only `bad_row` (its empty values are not reported again)."""
    if not rules:
        return ("SELECT NULL::VARCHAR AS __file, NULL::BIGINT AS __row, NULL::VARCHAR AS \"column\", "
                "NULL::VARCHAR AS value, NULL::VARCHAR AS reason, NULL::VARCHAR AS message WHERE FALSE")
    selects = [
        f"SELECT __file, __row, {lit(r.column)} AS \"column\", CAST({r.value} AS VARCHAR) AS value, "
        f"{lit(r.reason)} AS reason, CAST({r.message} AS VARCHAR) AS message FROM {parsed} WHERE "
        f"{r.condition if r.reason == 'bad_row' else f'__error IS NULL AND ({r.condition})'}"
        for r in rules
    ]
    return "\nUNION ALL\n".join(selects)
