"""The Asset URIs the DAGs hand over (include/assets.py): host, port and database from the
warehouse URL in either libpq form, never its password."""

from __future__ import annotations

import pytest

from include import assets


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        (
            "postgresql://postgres:s3cret@127.0.0.1:55433/warehouse?passfile=/x/pgpass",
            "postgres://127.0.0.1:55433/warehouse/raw/tax",
        ),
        (
            "host=127.0.0.1 port=55433 dbname=scratch_1 user=postgres password=s3cret",
            "postgres://127.0.0.1:55433/scratch_1/raw/tax",
        ),
        ("host=/tmp/socketdir dbname=warehouse", "postgres://localhost:5432/warehouse/raw/tax"),
        (None, "postgres://localhost:5432/warehouse/raw/tax"),
    ],
)
def test_asset_uris_name_host_port_and_database_of_either_url_form(monkeypatch, url, uri):
    if url is None:
        monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    else:
        monkeypatch.setenv("WAREHOUSE_URL", url)
    asset = assets.raw_asset("tax")
    assert asset.uri == uri
    assert "s3cret" not in asset.uri
