"""Static checks of the production packaging: docker-compose.yml, Dockerfile, .env.example and
docs/production.md. No Docker engine is needed: the compose file is parsed with PyYAML and its
`${VAR}` references are resolved the way Compose does, against the values of .env.example.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
PRODUCTION_DOC = REPO / "docs" / "production.md"

AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-init",
)
LONG_RUNNING_AIRFLOW = tuple(s for s in AIRFLOW_SERVICES if s != "airflow-init")
ALL_SERVICES = AIRFLOW_SERVICES + ("redis", "postgres", "warehouse")
CODE_FOLDERS = ("dags", "include", "dbt_project", "expectations")
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|FERNET|_KEY$|^KEY$|AUTH$)", re.IGNORECASE)
NAME = r"[A-Za-z_][A-Za-z0-9_]*"


# -- A small model of Compose's `.env` parsing and interpolation --------------------------------


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments; quotes stripped; an unquoted value ends at ` #`."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        assert sep and re.fullmatch(NAME, key.strip()), f".env.example line {number} is not KEY=VALUE: {line!r}"
        value = value.strip()
        if value[:1] in {'"', "'"} and value.endswith(value[0]) and len(value) > 1:
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key.strip()] = value
    return values


class MissingVariable(Exception):
    pass


def _closing_brace(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"unbalanced ${{ in {text!r}")


def _expand(expression: str, env: dict[str, str]) -> str:
    match = re.fullmatch(rf"({NAME})(?:(:?[-?+])(.*))?", expression, re.DOTALL)
    assert match, f"Compose cannot interpolate ${{{expression}}}"
    name, operator, argument = match.groups()
    is_set, value = name in env, env.get(name, "")
    if operator is None:
        if not is_set:
            raise MissingVariable(name)
        return value
    if operator == ":-":
        return value if value else interpolate(argument, env)
    if operator == "-":
        return value if is_set else interpolate(argument, env)
    if operator in {":?", "?"}:
        if (operator == ":?" and not value) or not is_set:
            raise MissingVariable(f"{name} ({argument})")
        return value
    if operator == ":+":
        return interpolate(argument, env) if value else ""
    return interpolate(argument, env) if is_set else ""  # "+"


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's rules: `$$` is a literal `$`; `${VAR...}` (nested defaults too) and `$VAR`."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 1)
            out.append(_expand(text[i + 2 : end], env))
            i = end + 1
        elif match := re.match(NAME, text[i + 1 :]):
            name = match.group(0)
            if name not in env:
                raise MissingVariable(name)
            out.append(env[name])
            i += 1 + len(name)
        else:
            out.append("$")
            i += 1
    return "".join(out)


def variables_named(text: str) -> set[str]:
    """Every variable a string refers to, defaults included, `$$` escapes excluded."""
    text = text.replace("$$", "")
    return set(re.findall(rf"\$\{{({NAME})", text)) | set(re.findall(rf"\$({NAME})", text))


def walk_strings(node, path=()):
    """(path, string) for every string value in a parsed YAML tree (keys are not interpolated)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk_strings(value, path + (str(key),))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_strings(value, path + (str(index),))
    elif isinstance(node, str):
        yield path, node


def resolve(node, env: dict[str, str]):
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, env) for value in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


# -- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose(raw_compose, env_example) -> dict:
    """The compose file as `docker compose config` would see it with .env copied from the example."""
    return resolve(raw_compose, env_example)


def service_env(compose: dict, service: str) -> dict[str, str]:
    environment = compose["services"][service].get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def mounts(compose: dict, service: str) -> dict[str, str]:
    """Mount target -> source for a service's short-syntax volumes."""
    found = {}
    for entry in compose["services"][service].get("volumes", []):
        source, target = entry.split(":")[:2]
        found[target] = source
    return found


def command_of(compose: dict, service: str) -> str:
    command = compose["services"][service].get("command", "")
    return " ".join(command) if isinstance(command, list) else command


# -- The file parses and has the production shape -----------------------------------------------


def test_compose_parses_and_declares_every_service(raw_compose):
    assert isinstance(raw_compose, dict)
    missing = set(ALL_SERVICES) - set(raw_compose["services"])
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"
    # The Airflow services share one definition (anchor) instead of repeating it.
    assert "x-airflow-common" in raw_compose


def test_every_variable_is_defined_in_env_example(raw_compose, env_example):
    used = set()
    for _, text in walk_strings(raw_compose):
        used |= variables_named(text)
    assert used, "the compose file should take its settings from .env"
    undefined = used - set(env_example)
    assert not undefined, f"used in docker-compose.yml but not in .env.example: {sorted(undefined)}"
    # Resolving raises on a `${VAR:?}` that .env.example leaves empty.
    resolve(raw_compose, env_example)


def test_interpolation_model_catches_what_compose_would_reject():
    # The checks above rely on this model; make sure it does fail where Compose fails.
    with pytest.raises(MissingVariable):
        interpolate("${SECRET:?set it}", {"SECRET": ""})
    with pytest.raises(MissingVariable):
        interpolate("${UNDEFINED}", {})
    assert interpolate("${A:-x${B}y}$$HOME", {"B": "b"}) == "xby$HOME"
    assert variables_named("${A:-${B:?m}} $$C $D") == {"A", "B", "D"}


def test_airflow_services_run_the_celery_executor_on_redis(compose):
    services = compose["services"]
    for service in AIRFLOW_SERVICES:
        env = service_env(compose, service)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", service
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False", service
        assert env["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] == "False", service

        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert broker.scheme == "redis" and broker.hostname == "redis", service
        assert broker.password == service_env(compose, "redis")["REDIS_PASSWORD"], service

        airflow_db = service_env(compose, "postgres")
        for key, scheme in (
            ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2"),
            ("AIRFLOW__CELERY__RESULT_BACKEND", "db+postgresql"),
        ):
            url = urlsplit(env[key])
            assert url.scheme == scheme and url.hostname == "postgres", (service, key)
            assert (url.username, url.password, url.path.lstrip("/")) == (
                airflow_db["POSTGRES_USER"],
                airflow_db["POSTGRES_PASSWORD"],
                airflow_db["POSTGRES_DB"],
            ), (service, key)
    assert {"redis", "postgres"} <= set(services)


def test_pipeline_settings_reach_every_airflow_service(compose, env_example):
    warehouse_db = service_env(compose, "warehouse")
    for service in AIRFLOW_SERVICES:
        env = service_env(compose, service)
        warehouse = urlsplit(env["WAREHOUSE_URL"])
        # The credit data goes to the separate warehouse service, not Airflow's metadata database.
        assert warehouse.hostname == "warehouse", service
        assert (warehouse.username, warehouse.password, warehouse.path.lstrip("/")) == (
            warehouse_db["POSTGRES_USER"],
            warehouse_db["POSTGRES_PASSWORD"],
            warehouse_db["POSTGRES_DB"],
        ), service
        # the dbt tasks' Airflow connection (dags/transform.py) is the same warehouse
        assert env["AIRFLOW_CONN_CREDIT_WAREHOUSE"] == env["WAREHOUSE_URL"], service
        assert env["CREDIT_PSEUDONYM_KEY"] == env_example["CREDIT_PSEUDONYM_KEY"], service
        for name in ("LANDING_DIR", "EXPORT_DIR", "STATE_DIR"):
            assert env[name] == env_example[name] and env[name].startswith("/"), (service, name)
        assert env["AIRFLOW_HOME"].startswith(env["STATE_DIR"] + "/"), service


def test_external_warehouse_url_replaces_the_bundled_one(raw_compose, env_example):
    external = "postgresql://credit:s3cr3t@db.office.internal:5432/warehouse"
    resolved = resolve(raw_compose, {**env_example, "WAREHOUSE_URL": external})
    assert service_env(resolved, "airflow-worker")["WAREHOUSE_URL"] == external
    assert service_env(resolved, "airflow-worker")["AIRFLOW_CONN_CREDIT_WAREHOUSE"] == external


def test_services_run_the_right_airflow_commands(compose):
    assert re.search(r"\bairflow api-server\b", command_of(compose, "airflow-apiserver"))
    assert any(p.endswith(":8080") for p in compose["services"]["airflow-apiserver"]["ports"])
    assert re.search(r"\bairflow scheduler\b", command_of(compose, "airflow-scheduler"))
    assert re.search(r"\bairflow dag-processor\b", command_of(compose, "airflow-dag-processor"))
    assert re.search(r"\bairflow triggerer\b", command_of(compose, "airflow-triggerer"))
    assert re.search(r"\bairflow celery worker\b", command_of(compose, "airflow-worker"))
    init = command_of(compose, "airflow-init")
    assert "airflow db migrate" in init
    assert "AIRFLOW_ADMIN_PASSWORD" in init and "change-me" in init  # writes the admin, refuses placeholders
    assert compose["services"]["airflow-init"].get("restart") == "no"


def test_workers_and_scheduler_mount_the_code_where_python_finds_it(compose):
    for service in LONG_RUNNING_AIRFLOW:
        env = service_env(compose, service)
        mounted = mounts(compose, service)
        by_source = {source.removeprefix("./").rstrip("/"): target for target, source in mounted.items()}
        roots = {Path(target).parent for name, target in by_source.items() if name in CODE_FOLDERS}
        missing = [name for name in CODE_FOLDERS if name not in by_source]
        assert not missing, f"{service} does not mount {missing}"
        assert len(roots) == 1, f"{service}: code folders mounted under different roots {roots}"
        (root,) = roots
        # DAG files import `include.*`: the mount root must be on PYTHONPATH.
        assert str(root) in env["PYTHONPATH"].split(":"), service
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == by_source["dags"], service


def test_landing_export_and_state_are_mounted_at_their_env_paths(compose):
    named_volumes = set(compose.get("volumes") or {})
    for service in AIRFLOW_SERVICES:
        env = service_env(compose, service)
        mounted = mounts(compose, service)
        assert mounted.get(env["LANDING_DIR"]) == "./data/landing", service
        assert mounted.get(env["EXPORT_DIR"]) == "./data/export", service
        assert mounted.get(env["STATE_DIR"]) in named_volumes, service


def test_databases_are_separate_postgres_16_on_named_volumes(compose):
    named_volumes = set(compose.get("volumes") or {})
    data_volumes = {}
    for service in ("postgres", "warehouse"):
        definition = compose["services"][service]
        assert re.fullmatch(r"postgres:16(\.\d+)?(-\w+)?", definition["image"]), service
        volume = mounts(compose, service).get("/var/lib/postgresql/data")
        assert volume in named_volumes, f"{service} keeps its data on a named volume"
        data_volumes[service] = volume
    assert data_volumes["postgres"] != data_volumes["warehouse"]


def test_healthchecks_and_startup_order(compose):
    services = compose["services"]
    for name in ALL_SERVICES:
        if name == "airflow-init":
            continue
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name, definition in services.items():
        for target, condition in (definition.get("depends_on") or {}).items():
            assert target in services and target != name, (name, target)
            if condition.get("condition") == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target}'s health, which has none"
    for name in LONG_RUNNING_AIRFLOW:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    worker = services["airflow-worker"]["depends_on"]
    assert worker["warehouse"]["condition"] == "service_healthy"
    assert worker["airflow-apiserver"]["condition"] == "service_healthy"
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"


def test_airflow_settings_name_real_config_options(compose):
    """An `AIRFLOW__SECTION__KEY` with a typo is silently ignored by Airflow: check them all."""
    spec = importlib.util.find_spec("airflow")
    template = Path(next(iter(spec.submodule_search_locations))) / "config_templates" / "config.yml"
    known = {section: set(body.get("options", {})) for section, body in yaml.safe_load(template.read_text()).items()}
    # Providers' sections (not in core's template) that this file sets.
    known.setdefault("celery", set()).update({"broker_url", "result_backend"})
    known.setdefault("cosmos", set()).update({"enable_telemetry"})
    for service in AIRFLOW_SERVICES:
        for key in service_env(compose, service):
            if not key.startswith("AIRFLOW__"):
                continue
            section, _, option = key.removeprefix("AIRFLOW__").lower().partition("__")
            assert option in known.get(section, set()), f"{service}: {key} is not an Airflow setting"


# -- No secrets in the repository ----------------------------------------------------------------


REFERENCE = "__REF__"


def mask_references(text: str) -> str:
    """The text with every `${...}` (nested ones whole) replaced by one token."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$$")
            i += 2
        elif text.startswith("${", i):
            i = _closing_brace(text, i + 1) + 1
            out.append(REFERENCE)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def literal_secrets(raw: dict) -> list[str]:
    """Places where a compose file carries a secret value itself instead of a `${VAR}`."""
    problems = []
    for path, text in walk_strings(raw):
        where = ".".join(path)
        masked = mask_references(text)
        key = path[-1] if path else ""
        names_a_file = key.upper().endswith(("_FILE", "_PATH", "_DIR"))
        if SECRET_NAME.search(key) and not names_a_file and masked.replace(REFERENCE, ""):
            problems.append(f"{where} = {text!r}")
        for url in re.findall(r"[a-z][a-z0-9+.-]*://[^\s\"']+", masked):
            userinfo = url.split("://", 1)[1].rpartition("@")[0]
            password = userinfo.partition(":")[2]
            if password and password != REFERENCE:
                problems.append(f"{where}: password in URL {url!r}")
        for match in re.finditer(r"--(?:requirepass|password)[= ]+(\S+)", masked):
            if not match.group(1).strip("\"'").startswith((REFERENCE, "$$")):
                problems.append(f"{where}: {match.group(0)!r}")
    return problems


def test_compose_file_holds_no_literal_secret(raw_compose):
    assert literal_secrets(raw_compose) == []
    for path, text in walk_strings(raw_compose):
        # The placeholder may appear only in airflow-init's guard that refuses it.
        if "change-me" in text:
            assert path[:3] == ("services", "airflow-init", "command"), ".".join(path)


def test_secret_scan_finds_planted_secrets():
    planted = {
        "services": {
            "db": {"environment": {"POSTGRES_PASSWORD": "hunter2", "OK_PASSWORD": "${PW:?x}"}},
            "app": {"environment": {"URL": "postgresql://u:hunter2@db/x", "OK": "postgresql://u:${PW}@db/x"}},
            "cache": {"command": "redis-server --requirepass hunter2"},
        }
    }
    found = literal_secrets(planted)
    assert len(found) == 3, found


def test_env_example_has_placeholders_not_secrets(env_example):
    for key, value in env_example.items():
        if SECRET_NAME.search(key):
            assert value == "change-me", f".env.example: {key} should be the placeholder change-me"
    assert env_example.get("WAREHOUSE_URL", None) == "", "empty = the bundled warehouse service"
    ignored = (REPO / ".gitignore").read_text().split()
    assert ".env" in ignored, ".env (the real secrets) must be git-ignored"


# -- Dockerfile ----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_dockerfile_installs_the_locked_requirements_as_non_root():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert re.search(r"pip install [\"']?uv\b", runs)
    assert re.search(r"uv pip install --system (--no-cache )?-r \S*requirements\.txt", runs)
    # CeleryExecutor needs its provider, and it must come from the lock like everything else.
    assert re.search(r"^apache-airflow-providers-celery==", (REPO / "requirements.txt").read_text(), re.M)
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in {"root", "0", "0:0"}, "the image must not run as root"
    copies = [[t for t in args.split() if not t.startswith("--")] for op, args in instructions if op == "COPY"]
    sources = {source for tokens in copies for source in tokens[:-1]}
    assert {"include/", "dags/", "dbt_project/", "expectations/"} <= sources, sources
    # `COPY . .` would bake a local .env (secrets) and .venv into the image.
    dockerignore = REPO / ".dockerignore"
    if sources & {".", "./"}:
        assert dockerignore.exists() and ".env" in dockerignore.read_text().split()


# -- The guide the README is written from -------------------------------------------------------


def test_production_doc_gives_the_commands_and_names_real_variables(env_example, compose):
    doc = PRODUCTION_DOC.read_text(encoding="utf-8")
    for command in (
        "cp .env.example .env",
        "docker compose up -d",
        "docker compose up -d --scale airflow-worker=3",
        "http://localhost:8080",
        "WAREHOUSE_URL",
    ):
        assert command in doc, f"docs/production.md should say {command!r}"
    known = set(env_example)
    for service in compose["services"]:
        known |= set(service_env(compose, service))
    named = set(re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`", doc))
    assert named, "the guide names the settings"
    unknown = named - known
    assert not unknown, f"docs/production.md names variables the compose setup does not have: {sorted(unknown)}"


def test_init_creates_the_pool_the_ingest_dags_use(compose):
    text = (REPO / "docker-compose.yml").read_text()
    # one size, from include/settings.py: the init sets the pool through the same code as `make run`
    assert "python -m include.pipeline pools" in text
    assert not re.search(r"airflow pools set warehouse_loads \d", text), "a second pool size in compose"
    assert "WAREHOUSE_LOAD_SLOTS" in service_env(compose, "airflow-init")
