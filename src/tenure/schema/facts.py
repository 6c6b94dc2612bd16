"""The customer fact tables (DESIGN.md, "The fact model"). One definition of every column."""

from __future__ import annotations

from tenure.config import SURVEY_SCALES

from tenure.schema.model import Column as C
from tenure.schema.model import RowCheck, Table, lineage_columns

ACCOUNT_REF = "accounts.account_id"

# The source's modification time: each version of a mutable fact is known from it
# (tenure.warehouse.versions); files without it fall back to the ingest run's time.
UPDATED_AT = C("updated_at", "timestamp", "when the source last changed the row (its modification time, UTC); "
               "this version of the row counts as known from then (empty: from the ingest run's time)")

ACCOUNTS = Table(
    "accounts",
    "One row per master customer account. Extra columns in an accounts file become custom "
    "attributes (table account_attributes).",
    (
        C("account_id", "string", "master account id (natural key)", nullable=False, in_file="required"),
        C("name", "string", "company name", nullable=False, in_file="required"),
        C("domain", "string", "primary web/email domain, lower case (e.g. acme.com)"),
        C("segment", "string", "customer segment, e.g. Enterprise / Mid-Market / SMB"),
        C("region", "string", "sales region, e.g. NA / EMEA / APAC / LATAM"),
        C("industry", "string", "industry"),
        C("owner", "string", "the CSM who owns the account (user name or email)", personal=True),
        C("owner_name", "string", "the owning CSM's name as people know them (e.g. Dana Whitfield); pages show "
          "it in place of the owner id", personal=True),
        C("tier", "string", "touch tier, e.g. high / mid / tech"),
        C("parent_account_id", "string", "parent in a corporate hierarchy"),
        C("partner_id", "string", "implementation or reseller partner"),
        C("created_at", "timestamp", "when the account was created in the source system"),
        UPDATED_AT,
        *lineage_columns(),
    ),
    key=("account_id",),
)

ACCOUNT_ATTRIBUTES = Table(
    "account_attributes",
    "Custom account attributes (any extra column of an accounts file), one row per account and "
    "attribute; portable to every engine and usable as a metric dimension.",
    (
        C("account_id", "string", "master account id", nullable=False, references=ACCOUNT_REF),
        C("name", "string", "attribute name (the file's column header)", nullable=False),
        C("value", "string", "attribute value as text"),
        C("value_number", "float", "attribute value as a number, when it parses as one"),
        *lineage_columns(),
    ),
    key=("account_id", "name"),
)

CONTACTS = Table(
    "contacts",
    "People at customer accounts.",
    (
        C("contact_id", "string", "contact id (natural key)", nullable=False, in_file="required", personal=True),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("email", "string", "email address", personal=True),
        C("name", "string", "full name", personal=True),
        C("title", "string", "job title", personal=True),
        C("role", "string", "relationship role", enum=("exec_sponsor", "champion", "user", "billing", "admin", "other")),
        C("active_from", "date", "first day the contact held this role"),
        C("active_to", "date", "last day the contact held this role (empty = still there)"),
        C("timezone", "timezone", "where the contact lives, as an IANA time zone (e.g. Europe/Berlin); automated "
          "emails arrive within the send window of this zone (empty: notify.default_timezone)", personal=True),
        C("locale", "locale", "the contact's language and region, a BCP 47 tag (e.g. de-DE, en-GB, pt-BR)",
          personal=True),
        UPDATED_AT,
        *lineage_columns(),
    ),
    key=("contact_id",),
    checks=(RowCheck("active_to_after_from", ("active_from", "active_to"), "active_to >= active_from"),),
)

CONTRACT_LINES = Table(
    "contract_lines",
    "Recurring contract lines; ARR on any day derives from these. start_date is the first day of "
    "service and end_date the last day of service (inclusive); an empty end_date is open-ended.",
    (
        C("line_id", "string", "contract line id (natural key)", nullable=False, in_file="required"),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("product", "string", "product or SKU", nullable=False, in_file="required"),
        C("plan", "string", "plan or edition"),
        C("start_date", "date", "first day of service", nullable=False, in_file="required"),
        C("end_date", "date", "last day of service, inclusive (empty = open-ended)", in_file="required"),
        C("arr", "money", "annualized recurring amount of the line, in its currency", nullable=False,
          in_file="required", min=0),
        C("currency", "currency", "ISO 4217 currency of arr", nullable=False, in_file="required"),
        C("quantity", "int", "seats or units on the line", min=0),
        C("billing_period", "string", "how the line is billed",
          enum=("monthly", "quarterly", "annual", "multi_year")),
        C("auto_renew", "bool", "renews automatically unless cancelled"),
        UPDATED_AT,
        *lineage_columns(),
    ),
    key=("line_id",),
    checks=(RowCheck("end_not_before_start", ("start_date", "end_date"), "end_date >= start_date"),),
)

INVOICES = Table(
    "invoices",
    "Invoices issued to accounts.",
    (
        C("invoice_id", "string", "invoice id (natural key)", nullable=False, in_file="required"),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("amount", "money", "invoice total in its currency", nullable=False, in_file="required", min=0),
        C("currency", "currency", "ISO 4217 currency", nullable=False, in_file="required"),
        C("issued_at", "date", "issue date", nullable=False, in_file="required", event_time=True),
        C("due_at", "date", "due date", in_file="required"),
        C("paid_at", "date", "date paid in full (empty = unpaid)", in_file="required"),
        *lineage_columns(),
    ),
    key=("invoice_id",),
    checks=(RowCheck("due_not_before_issued", ("issued_at", "due_at"), "due_at >= issued_at"),),
)

USAGE_EVENTS = Table(
    "usage_events",
    "Product usage events; the largest table, only ever read through aggregates "
    "(see usage_daily). A repeated (account_id, user_id, ts, feature) is a duplicate and skipped.",
    (
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("user_id", "string", "user who acted", nullable=False, in_file="required", personal=True),
        C("ts", "timestamp", "when (UTC)", nullable=False, in_file="required"),
        C("feature", "string", "feature or event name", nullable=False, in_file="required"),
        C("quantity", "float", "amount of use (default 1)", nullable=False, min=0, default=1.0),
        *lineage_columns(),
    ),
    key=("account_id", "user_id", "ts", "feature"),
    load="append",
)

TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")

TICKETS = Table(
    "tickets",
    "Support tickets.",
    (
        C("ticket_id", "string", "ticket id (natural key)", nullable=False, in_file="required"),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("opened_at", "timestamp", "when the ticket was opened", nullable=False, in_file="required",
          event_time=True),
        C("first_response_at", "timestamp", "first agent response"),
        C("resolved_at", "timestamp", "when solved"),
        C("priority", "string", "priority", enum=TICKET_PRIORITIES),
        C("status", "string", "status", enum=TICKET_STATUSES),
        C("csat", "int", "ticket satisfaction 1 (worst) to 5 (best)", min=1, max=5),
        C("subject", "string", "subject line", personal=True),
        C("body", "string", "description text", personal=True),
        C("escalated", "bool", "escalated beyond the first line", default=False),
        UPDATED_AT,
        *lineage_columns(),
    ),
    key=("ticket_id",),
    checks=(
        RowCheck("resolved_not_before_opened", ("opened_at", "resolved_at"), "resolved_at >= opened_at"),
        RowCheck("response_not_before_opened", ("opened_at", "first_response_at"), "first_response_at >= opened_at"),
    ),
)

SURVEY_KINDS = ("nps", "csat", "ces")
# Score range per survey kind: NPS 0-10, CSAT 1-5, CES 1-7.
SURVEY_SCORE_RANGE = SURVEY_SCALES  # tenure.config: the one definition

SURVEY_RESPONSES = Table(
    "survey_responses",
    "Answers to NPS, CSAT and CES surveys.",
    (
        C("response_id", "string", "response id (natural key)", nullable=False, in_file="required"),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("contact_id", "string", "who answered", personal=True),
        C("kind", "string", "survey kind", nullable=False, in_file="required", enum=SURVEY_KINDS),
        C("score", "int", "score: NPS 0-10, CSAT 1-5, CES 1-7", nullable=False, in_file="required", min=0, max=10),
        C("comment", "string", "free-text comment", personal=True),
        C("responded_at", "timestamp", "when answered", nullable=False, in_file="required", event_time=True),
        C("survey_id", "string", "survey or campaign id"),
        C("touchpoint", "string", "journey touchpoint, e.g. onboarding, support, relationship"),
        *lineage_columns(),
    ),
    key=("response_id",),
    checks=(RowCheck("score_in_kind_range", ("kind", "score"), "score within the range of its kind"),),
)

SURVEY_INVITATIONS = Table(
    "survey_invitations",
    "Survey invitations sent: the denominator of the response rate (a response answers the invitation "
    "of the same account, contact, kind and survey sent at or before it).",
    (
        C("invitation_id", "string", "invitation id (natural key)", nullable=False, in_file="required"),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("contact_id", "string", "who was asked", personal=True),
        C("kind", "string", "survey kind", nullable=False, in_file="required", enum=SURVEY_KINDS),
        C("sent_at", "timestamp", "when sent", nullable=False, in_file="required", event_time=True),
        C("survey_id", "string", "survey or campaign id (as on the responses)"),
        C("channel", "string", "email, link or in-app"),
        *lineage_columns(),
    ),
    key=("invitation_id",),
)

# Question types of a custom survey (tenure.voc.custom): single and multiple choice, a rating on a
# scale, a ranking of options, free text.
QUESTION_TYPES = ("single", "multi", "rating", "ranking", "text")

SURVEY_ANSWERS = Table(
    "survey_answers",
    "Answers to the questions of custom surveys (exit, onboarding, research) and to the non-score questions "
    "of imported survey exports: one row per answer. A multiple-choice answer has one row per option chosen, "
    "a ranking one row per option ranked. The score question of an NPS/CSAT/CES survey goes to "
    "survey_responses instead.",
    (
        C("answer_id", "string", "answer id (natural key): response_id:question_id, plus :n for the n-th option of "
          "a multiple-choice or ranking answer", nullable=False, in_file="required"),
        C("response_id", "string", "the respondent's response (the same id on survey_responses when the survey "
          "also asked a score)", nullable=False, in_file="required"),
        C("survey_id", "string", "custom survey id, or the imported survey's id", nullable=False,
          in_file="required"),
        C("question_id", "string", "question id within the survey", nullable=False, in_file="required"),
        C("question_type", "string", "single, multi, rating, ranking or text", nullable=False, in_file="required",
          enum=QUESTION_TYPES),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("contact_id", "string", "who answered", personal=True),
        C("answered_at", "timestamp", "when answered", nullable=False, in_file="required", event_time=True),
        C("choice", "string", "the option chosen (single, multi) or ranked (ranking)"),
        C("number", "float", "the rating given (rating), or the option's rank, 1 = first (ranking)"),
        C("text", "string", "the free-text answer (text, or an 'other' option's text)", personal=True),
        C("question", "string", "the question as asked"),
        *lineage_columns(),
    ),
    key=("answer_id",),
)

OPPORTUNITY_KINDS = ("new", "renewal", "expansion")
OPPORTUNITY_STATUSES = ("open", "won", "lost")

OPPORTUNITIES = Table(
    "opportunities",
    "Sales opportunities: new business, renewals and expansions.",
    (
        C("opportunity_id", "string", "opportunity id (natural key)", nullable=False, in_file="required"),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("kind", "string", "new, renewal or expansion", nullable=False, in_file="required", enum=OPPORTUNITY_KINDS),
        C("amount", "money", "amount (ARR for renewals and expansions)", nullable=False, in_file="required", min=0),
        C("currency", "currency", "ISO 4217 currency", nullable=False, in_file="required"),
        C("stage", "string", "pipeline stage name", nullable=False, in_file="required"),
        C("status", "string", "open, won or lost (derived from stage when missing)", enum=OPPORTUNITY_STATUSES),
        C("probability", "float", "win probability 0-1", in_file="required", min=0, max=1),
        C("close_date", "date", "expected or actual close date", nullable=False, in_file="required"),
        C("reason", "string", "won or lost reason", personal=True),
        UPDATED_AT,
        *lineage_columns(),
    ),
    key=("opportunity_id",),
)

ACTIVITIES = Table(
    "activities",
    "Customer-facing activities: meetings, business reviews, calls, emails.",
    (
        C("activity_id", "string", "activity id (natural key)", nullable=False, in_file="required"),
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("kind", "string", "kind of activity", nullable=False, in_file="required",
          enum=("meeting", "ebr", "qbr", "call", "email", "onsite", "training", "other")),
        C("at", "timestamp", "when", nullable=False, in_file="required", event_time=True),
        C("with_exec", "bool", "an executive of the customer took part", in_file="required", default=False),
        C("owner", "string", "who on our side", personal=True),
        *lineage_columns(),
    ),
    key=("activity_id",),
)

MILESTONES = Table(
    "milestones",
    "Onboarding and adoption milestones per account (e.g. kickoff, integration, first_value).",
    (
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("milestone", "string", "milestone name", nullable=False, in_file="required"),
        C("due_at", "date", "planned date", in_file="required"),
        C("completed_at", "date", "date reached (empty = not yet)", in_file="required"),
        *lineage_columns(),
    ),
    key=("account_id", "milestone"),
)

CHURN_REASONS = Table(
    "churn_reasons",
    "Why accounts churned, as recorded by the CSM or in the cancellation flow.",
    (
        C("account_id", "string", "master account id", nullable=False, in_file="required", references=ACCOUNT_REF),
        C("at", "date", "churn date", nullable=False, in_file="required"),
        C("category", "string", "reason category, e.g. price, product_gap, champion_left, budget, competitor",
          nullable=False, in_file="required"),
        C("detail", "string", "reason in words", in_file="required", personal=True),
        *lineage_columns(),
    ),
    key=("account_id", "at"),
)


def _period_amount_table(name: str, what: str) -> Table:
    return Table(
        name,
        what,
        (
            C("period", "month", "calendar month (2026-09 or its first day)", nullable=False, in_file="required"),
            C("segment", "string", "customer segment", nullable=False, in_file="required"),
            C("amount", "money", "amount in its currency", nullable=False, in_file="required", min=0),
            C("currency", "currency", "ISO 4217 currency", nullable=False, in_file="required"),
            *lineage_columns(),
        ),
        key=("period", "segment"),
    )


SPEND = _period_amount_table("spend", "Customer acquisition spend per month and segment (for CAC).")
COSTS = _period_amount_table("costs", "Cost to serve per month and segment (for gross margin).")

FX = Table(
    "fx",
    "Exchange rates: 1 unit of `currency` = rate_to_reporting units of the reporting currency, "
    "in force from `date` until the next rate of the same currency.",
    (
        C("date", "date", "first day the rate is in force", nullable=False, in_file="required"),
        C("currency", "currency", "ISO 4217 currency", nullable=False, in_file="required"),
        C("rate_to_reporting", "rate", "units of reporting currency per unit", nullable=False, in_file="required",
          min=0),
        *lineage_columns(),
    ),
    key=("date", "currency"),
)

FACT_TABLES: tuple[Table, ...] = (
    ACCOUNTS,
    ACCOUNT_ATTRIBUTES,
    CONTACTS,
    CONTRACT_LINES,
    INVOICES,
    USAGE_EVENTS,
    TICKETS,
    SURVEY_RESPONSES,
    SURVEY_INVITATIONS,
    SURVEY_ANSWERS,
    OPPORTUNITIES,
    ACTIVITIES,
    MILESTONES,
    CHURN_REASONS,
    SPEND,
    COSTS,
    FX,
)

# Entities a user can ingest from files (account_attributes arrive through accounts).
INGESTIBLE = tuple(t.name for t in FACT_TABLES if t.name != "account_attributes")
