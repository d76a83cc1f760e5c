"""allroads: reproduce "All Roads Lead to Likelihood" (online vs offline DPO) as a workflow."""

__version__ = "0.1.0"
