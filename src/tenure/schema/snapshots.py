"""Computed snapshot tables (written by metrics, health and risk). Each stage appends its
definitions here so the warehouse creates them from this one place."""

from __future__ import annotations

from tenure.schema.model import Table

SNAPSHOT_TABLES: tuple[Table, ...] = ()
