"""allroads: reproduce "All Roads Lead to Likelihood" (online vs offline DPO) as a workflow."""

__version__ = "0.1.0"

# A job that Snakemake started while the run's warm server is up hands itself to the server here,
# before it imports anything heavy, and exits with the job's status; elsewhere this returns at once
# (allroads/warm.py).
from allroads.warm import handoff as _handoff  # noqa: E402

_handoff()
