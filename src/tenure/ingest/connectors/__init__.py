"""Connectors for vendors' export formats (files, no network). Each maps a file into canonical
tables that go through the same validation, identity and quarantine path as any file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tenure.ingest.connectors import delighted, salesforce, segment, stripe, survey_csv, surveymonkey, zendesk
from tenure.ingest.connectors.base import ConnectorOutput

CONNECTORS: dict[str, Callable[[Path], ConnectorOutput]] = {
    "stripe": stripe.read,
    "salesforce": salesforce.read,
    "zendesk": zendesk.read,
    "segment": segment.read,
    "survey": survey_csv.read,
    "delighted": delighted.read,
    "surveymonkey": surveymonkey.read,
}
