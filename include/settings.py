"""Settings from the environment (docs/spec/CONTRACT.md §1). Every one is optional; defaults suit a laptop."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _path(var: str, default: str) -> Path:
    value = Path(os.environ.get(var) or default)
    return value if value.is_absolute() else (REPO_ROOT / value)


def landing_dir() -> Path:
    return _path("LANDING_DIR", "data/landing")


def export_dir() -> Path:
    return _path("EXPORT_DIR", "data/export")


def state_dir() -> Path:
    return _path("STATE_DIR", ".local")


# The Airflow pool the ingest's file loads share: how many COPYs into the warehouse run at once.
LOAD_POOL = "warehouse_loads"
LOAD_POOL_DESCRIPTION = "concurrent file loads into the warehouse"


def load_pool_slots() -> int:
    """`WAREHOUSE_LOAD_SLOTS`, else 2 (one per core of a laptop); raise it with the warehouse's cores."""
    raw = os.environ.get("WAREHOUSE_LOAD_SLOTS") or "2"
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"WAREHOUSE_LOAD_SLOTS={raw!r} is not a positive whole number")
    return int(raw)


def today_in_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def as_of() -> dt.date:
    """The date archives and indicators are computed for; `AS_OF` or today in Asia/Shanghai."""
    raw = os.environ.get("AS_OF")
    if not raw:
        return today_in_shanghai()
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise SystemExit(f"AS_OF={raw!r} is not a date: write it as YYYY-MM-DD, e.g. AS_OF=2026-06-30") from None


def secrets_dir() -> Path:
    """STATE_DIR/secrets: the generated keys and passwords of a laptop installation, owner-only."""
    path = state_dir() / "secrets"
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def generated_secret(name: str) -> str:
    """The secret `name` of this STATE_DIR: made once (random, 256 bits) in a file of mode 0600
    under secrets_dir(), the same on every later call. Never in the repository, never logged."""
    path = secrets_dir() / name
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it a moment ago
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
                f.flush()
                os.fsync(f.fileno())
    value = path.read_text().strip()
    if not value:
        raise SystemExit(f"the secret file {path} is empty: delete it only together with the data it protects")
    return value


def dbt_threads() -> str:
    return os.environ.get("DBT_THREADS", "2")


def pseudonym_key() -> bytes:
    """The HMAC key that pseudonymises personal identity numbers (docs/spec/DOMAIN.md §8).

    From `CREDIT_PSEUDONYM_KEY`; on a laptop without one, a random key is made once and kept in
    STATE_DIR (mode 0600) so that pseudonyms stay stable between runs. Never in the repository.
    """
    value = os.environ.get("CREDIT_PSEUDONYM_KEY")
    if value:
        return value.encode()
    return generated_secret("pseudonym.key").encode()


def role_password(role: str) -> str:
    """The password `role` (credit_loader, credit_analyst, credit_financing) logs in with:
    `<ROLE>_PASSWORD` from the environment (an external warehouse's, set by its administrator),
    else the one generated for this STATE_DIR, which the embedded server gives the role."""
    return os.environ.get(f"{role.upper()}_PASSWORD") or generated_secret(f"{role}.password")
