"""include/transform.py: the environment for profiles.yml, and a clear error for a bad as_of."""

from __future__ import annotations

import datetime as dt

from include.transform import dbt_env, run_dbt


def test_dbt_env_from_url():
    env = dbt_env("postgresql://loader:s3cret@db.example:6543/credit")
    assert env["DBT_HOST"] == "db.example" and env["DBT_PORT"] == "6543"
    assert env["DBT_USER"] == "loader" and env["DBT_PASSWORD"] == "s3cret" and env["DBT_DBNAME"] == "credit"
    assert env["DBT_THREADS"].isdigit()


def test_dbt_env_without_password_or_port():
    env = dbt_env("host=127.0.0.1 dbname=warehouse user=postgres")
    assert env["DBT_PASSWORD"] == "" and env["DBT_PORT"] == "5432"


def test_malformed_as_of_fails_with_a_readable_message(scratch_db, tmp_path):
    result = run_dbt(
        ["compile", "--select", "int_subject_facts"],
        scratch_db,
        dt.date(2022, 6, 30),
        extra_vars={"as_of": "2022-13-4x"},
        target_path=tmp_path,
    )
    assert result.returncode != 0
    assert "as_of=2022-13-4x is not a date" in result.stdout


def test_dbt_env_hands_on_the_password_file_of_the_url():
    env = dbt_env("postgresql://postgres@127.0.0.1:55432/warehouse?passfile=/state/secrets/pgpass")
    assert env["PGPASSFILE"] == "/state/secrets/pgpass" and env["DBT_PASSWORD"] == ""
    assert "PGPASSFILE" not in dbt_env("postgresql://loader:s3cret@db.example:6543/credit")
