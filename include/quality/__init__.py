"""Quality gates: Great Expectations 1.x checkpoints over the warehouse (docs/quality.md).

`run_gate` is the one entry point; Great Expectations itself is imported only when a gate runs,
so importing this package (e.g. while Airflow parses DAG files) stays cheap.
"""

from include.quality.gate import CHECKPOINTS, GateBlocked, GateResult, raise_if_blocked, run_gate
from include.quality.suites import Suite, load_suites

__all__ = ["CHECKPOINTS", "GateBlocked", "GateResult", "raise_if_blocked", "Suite", "load_suites", "run_gate"]
