"""What a DAG run is computed for: `AS_OF` from the run's conf or params, else the setting."""

from __future__ import annotations

import datetime as dt

from include import settings

# Shared by every DAG so that a run and its logs say the same thing.
DEFAULT_ARGS = {
    "owner": "credit-office-data",
    "retries": 3,
    "retry_delay": dt.timedelta(seconds=20),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=10),
}
START_DATE = dt.datetime(2024, 1, 1, tzinfo=settings.SHANGHAI)
AS_OF_PARAM = {"as_of": ""}


def as_of_from(context_params: dict | None, conf: dict | None = None) -> dt.date:
    """`as_of` given to the run (conf first, then params) or, when blank, `AS_OF`/today."""
    for source in (conf or {}, context_params or {}):
        value = (source.get("as_of") or "").strip() if isinstance(source.get("as_of"), str) else None
        if value:
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"as_of={value!r} is not a date (YYYY-MM-DD)") from None
    return settings.as_of()
