"""dbt's `flags`."""

FULL_REFRESH = False
