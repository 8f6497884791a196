"""Helpers the tests and the benchmarks share: scratch databases, one warm dbt process."""
