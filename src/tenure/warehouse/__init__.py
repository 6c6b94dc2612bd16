"""Warehouse access (Ibis). See tenure.warehouse.connection."""

from tenure.warehouse.connection import IBIS_TYPES, Warehouse, connect, ibis_schema, open_project, spark_session

__all__ = ["IBIS_TYPES", "Warehouse", "connect", "ibis_schema", "open_project", "spark_session"]
