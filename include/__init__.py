"""The credit office's data platform: all logic the DAGs call lives in this package."""
