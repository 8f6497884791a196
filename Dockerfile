# The one image behind every Airflow service of docker-compose.yml (api-server, scheduler,
# dag-processor, triggerer, celery worker, init). Build: `docker compose build`.
FROM python:3.11-slim

# The user the services run as. docker-compose.yml passes AIRFLOW_UID from .env so that files the
# pipeline writes into the bind-mounted landing and export folders belong to the host's user.
ARG AIRFLOW_UID=50000
# Pinned so that a rebuild resolves the same way (the same uv as the Makefile).
ARG UV_VERSION=0.13.8

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/opt/credit

# Dependencies first, in their own layer: code changes then rebuild in seconds.
COPY requirements.txt /tmp/requirements.txt
RUN pip install "uv==${UV_VERSION}" \
 && uv pip install --system --no-cache -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Group 0 owns the files too (the usual arrangement for images run under an arbitrary UID).
RUN useradd --uid "${AIRFLOW_UID}" --gid 0 --create-home --home-dir /home/credit --shell /bin/bash credit

WORKDIR /opt/credit
# Only the project's own folders, named one by one: `COPY .` would bake a local `.env` (secrets),
# `.venv`, `.local` (a laptop's database) and delivered data into the image.
COPY --chown=${AIRFLOW_UID}:0 requirements.txt requirements.in ./
COPY --chown=${AIRFLOW_UID}:0 include/ ./include/
COPY --chown=${AIRFLOW_UID}:0 dags/ ./dags/
COPY --chown=${AIRFLOW_UID}:0 dbt_project/ ./dbt_project/
COPY --chown=${AIRFLOW_UID}:0 expectations/ ./expectations/

# Default locations of LANDING_DIR, EXPORT_DIR and STATE_DIR (see .env.example). A named volume
# mounted on an existing image folder starts with that folder's owner, so they are made here.
RUN mkdir -p /opt/credit/data/landing /opt/credit/data/export /opt/credit/state \
 && chown -R "${AIRFLOW_UID}:0" /opt/credit/data /opt/credit/state \
 && chmod -R g+rwX /opt/credit/data /opt/credit/state

USER ${AIRFLOW_UID}
EXPOSE 8080
CMD ["airflow", "version"]
