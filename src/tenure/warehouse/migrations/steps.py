"""The warehouse schema versions, in order: version N is STEPS[N-1]. Append, never edit or
reorder: a warehouse remembers the number of steps it has applied.

To add a column, define it in tenure.schema, then append one line here:
    add_column("contacts", "known_from"),
"""

from __future__ import annotations

from tenure.warehouse.migrations.base import Step, add_column, baseline, create_table

# Version 1: every table as tenure created it before warehouse versions existed.
V1_TABLES = {
    "accounts": "account_id name domain segment region industry owner tier parent_account_id partner_id "
                "created_at source ingested_at",
    "account_attributes": "account_id name value value_number source ingested_at",
    "contacts": "contact_id account_id email name title role active_from active_to source ingested_at",
    "contract_lines": "line_id account_id product plan start_date end_date arr currency quantity billing_period "
                      "auto_renew source ingested_at",
    "invoices": "invoice_id account_id amount currency issued_at due_at paid_at source ingested_at",
    "usage_events": "account_id user_id ts feature quantity source ingested_at",
    "tickets": "ticket_id account_id opened_at first_response_at resolved_at priority status csat subject body "
               "escalated source ingested_at",
    "survey_responses": "response_id account_id contact_id kind score comment responded_at survey_id touchpoint "
                        "source ingested_at",
    "opportunities": "opportunity_id account_id kind amount currency stage status probability close_date reason "
                     "source ingested_at",
    "activities": "activity_id account_id kind at with_exec owner source ingested_at",
    "milestones": "account_id milestone due_at completed_at source ingested_at",
    "churn_reasons": "account_id at category detail source ingested_at",
    "spend": "period segment amount currency source ingested_at",
    "costs": "period segment amount currency source ingested_at",
    "fx": "date currency rate_to_reporting source ingested_at",
    "account_identities": "source external_id account_id domain name rule status candidates resolved_at",
    "quarantine": "run_id entity file row_number column value reason message raw quarantined_at",
    "usage_daily": "account_id day events quantity active_users feature_mask",
    "usage_features": "feature bit first_seen",
    "arr_monthly": "month account_id arr",
    "arr_movements": "month account_id opening closing new reactivation expansion contraction churn kind",
    "snapshot_state": "snapshot watermark first_month last_month",
    "health_scores": "account_id as_of segment score band",
    "health_components": "account_id as_of component feature value points weight contribution",
    "health_signals": "account_id signal at severity detail",
    "risk_scores": "account_id as_of horizon_days probability drivers model",
    "account_summary": "account_id name domain segment region industry tier owner status arr arr_change_90 "
                       "customer_since score band score_change_30 band_30 risk risk_drivers renewal_date "
                       "days_to_renewal renewal_arr open_renewal_stage as_of",
    "band_renewal": "band accounts churn_rate renewal_probability horizon_days as_of",
    "band_history": "as_of owner band accounts arr",
}

STEPS: tuple[Step, ...] = (
    baseline(V1_TABLES),
    # versions 2-12: facts as they were known (the source's modification time, and row versions)
    add_column("accounts", "updated_at"),
    add_column("contacts", "updated_at"),
    add_column("contract_lines", "updated_at"),
    add_column("tickets", "updated_at"),
    add_column("opportunities", "updated_at"),
    create_table("accounts_versions"),
    create_table("account_attributes_versions"),
    create_table("contacts_versions"),
    create_table("contract_lines_versions"),
    create_table("tickets_versions"),
    create_table("opportunities_versions"),
    # version 13: the rolling term shown where an account has no renewal date
    add_column("account_summary", "renewal_term"),
    # versions 14-16: CSMs by name (accounts.owner_name, carried into the summary)
    add_column("accounts", "owner_name"),
    add_column("accounts_versions", "owner_name"),
    add_column("account_summary", "owner_name"),
    # versions 17-20: contacts' time zone and locale (emails in the recipient's send window)
    add_column("contacts", "timezone"),
    add_column("contacts", "locale"),
    add_column("contacts_versions", "timezone"),
    add_column("contacts_versions", "locale"),
    # version 21: survey invitations, the denominator of survey_response_rate
    create_table("survey_invitations"),
    # version 22: answers to custom surveys, one row per answer (tenure.voc.custom)
    create_table("survey_answers"),
)
