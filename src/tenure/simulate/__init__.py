"""The synthetic company generator (demo, tests, benchmarks)."""

from tenure.simulate.company import SimulationSummary, simulate_company

__all__ = ["SimulationSummary", "simulate_company"]
