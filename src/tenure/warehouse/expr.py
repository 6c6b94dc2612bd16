"""The Ibis expression API, re-exported so compute stages build engine-neutral expressions
without importing Ibis themselves (one place to upgrade it):

    from tenure.warehouse.expr import ibis, _, ir
"""

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis import _

__all__ = ["ibis", "_", "ir", "dt"]
