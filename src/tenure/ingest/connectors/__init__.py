"""Connectors for vendors' export formats. Each maps a file into canonical tables and goes
through the same validation, identity and quarantine path as any file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tenure.ingest.connectors.base import ConnectorOutput

CONNECTORS: dict[str, Callable[[Path], ConnectorOutput]] = {}
