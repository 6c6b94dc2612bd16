"""Jobs: the refresh graph (declared steps, run in dependency order, skipped when their inputs
did not change), refresh runs, table versions and the data version, all kept in the state DB.

Each stage registers its own steps (`tenure/<stage>/steps.py`); this package imports no later
stage. See docs/jobs.md.
"""

from tenure.jobs.graph import Graph, GraphError, Step, StepContext
from tenure.jobs.runs import RunConflict
from tenure.jobs.runner import run_graph

__all__ = ["Graph", "GraphError", "RunConflict", "Step", "StepContext", "run_graph"]
