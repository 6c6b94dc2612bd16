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
  enum       any case; spaces and dashes count as underscores (Exec Sponsor -> exec_sponsor)
"""

from __future__ import annotations

from dataclasses import dataclass

from tenure.schema import Column, Table
from tenure.schema.facts import SURVEY_SCORE_RANGE

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]

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
}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


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
    if column.type == "bool":
        if st == "BOOLEAN":
            return c
        return (f"CASE WHEN LOWER({t}) IN ('true','t','yes','y','1') THEN TRUE "
                f"WHEN LOWER({t}) IN ('false','f','no','n','0') THEN FALSE END")
    if column.type == "int":
        if st in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
            return f"CAST({c} AS BIGINT)"
        return (f"CASE WHEN TRY_CAST({t} AS DOUBLE) = FLOOR(TRY_CAST({t} AS DOUBLE)) "
                f"AND ABS(TRY_CAST({t} AS DOUBLE)) < 9e15 THEN CAST(TRY_CAST({t} AS DOUBLE) AS BIGINT) END")
    if column.type == "float":
        if st in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER") or st.startswith("DECIMAL"):
            return f"CAST({c} AS DOUBLE)"
        return f"CASE WHEN isfinite(TRY_CAST({t} AS DOUBLE)) THEN TRY_CAST({t} AS DOUBLE) END"
    if column.type in ("money", "rate"):
        target = SQL_TYPES[column.type]
        if st in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER") or st.startswith("DECIMAL"):
            return f"TRY_CAST(ROUND(CAST({c} AS DOUBLE), {2 if column.type == 'money' else 10}) AS {target})"
        return f"TRY_CAST(TRY_CAST({t} AS DOUBLE) AS {target})" if column.type == "rate" else \
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


def build_rules(table: Table, present: set[str], has_accounts_ref: bool) -> list[Rule]:
    """Every rule that applies to a file with the given columns."""
    rules: list[Rule] = []
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
            bounds = f"between {col.min:g} and {col.max:g}" if col.min is not None and col.max is not None else (
                f">= {col.min:g}" if col.min is not None else f"<= {col.max:g}")
            rules.append(Rule(col.name, "range", f"{parsed} IS NOT NULL AND ({' OR '.join(conds)})", raw_txt,
                              lit(f"{col.name}: must be {bounds}")))
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
    """SELECT list turning raw staged columns into typed ones, keeping raw copies for errors."""
    parts = ["__file", "__row"]
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
    """One row per broken rule: __file, __row, column, value, reason, message."""
    if not rules:
        return ("SELECT NULL::VARCHAR AS __file, NULL::BIGINT AS __row, NULL::VARCHAR AS \"column\", "
                "NULL::VARCHAR AS value, NULL::VARCHAR AS reason, NULL::VARCHAR AS message WHERE FALSE")
    selects = [
        f"SELECT __file, __row, {lit(r.column)} AS \"column\", CAST({r.value} AS VARCHAR) AS value, "
        f"{lit(r.reason)} AS reason, CAST({r.message} AS VARCHAR) AS message FROM {parsed} WHERE {r.condition}"
        for r in rules
    ]
    return "\nUNION ALL\n".join(selects)
