"""Settings from the environment (PODIUM_*), read once when the app or a command starts."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///podium.db"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"
FIXTURES_DIR = PROJECT_ROOT / "fixtures"
LANGUAGES = ("lv", "en")
DEFAULT_LANGUAGE = "lv"


@dataclass(frozen=True)
class Settings:
    """Everything Podium reads from its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret: str = field(default="", repr=False)
    data_dir: Path = Path(".podium")
    debug: bool = False
    https: bool = False
    max_upload_bytes: int = 10 * 1024 * 1024
    login_failures_allowed: int = 5
    login_failure_window_s: int = 300
    channels_backlog: int = 50
    max_requests: int = 256
    """Requests in progress at once; past it a request is answered 503 with Retry-After (PODIUM_MAX_REQUESTS)."""
    redis_prefix: str = "podium"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _secret_from(data_dir: Path) -> str:
    """The signing secret kept in the data folder, generated there on first run."""
    path = data_dir / "secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def load_settings(database_url: str | None = None) -> Settings:
    """Settings from PODIUM_* variables; `database_url` (from `--database`) wins over the environment."""
    env = os.environ
    data_dir = Path(env.get("PODIUM_DATA_DIR", ".podium"))
    return Settings(
        database_url=database_url or env.get("PODIUM_DATABASE_URL") or DEFAULT_DATABASE_URL,
        redis_url=env.get("PODIUM_REDIS_URL") or None,
        secret=env.get("PODIUM_SECRET") or _secret_from(data_dir),
        data_dir=data_dir,
        debug=env.get("PODIUM_DEBUG", "") == "1",
        https=env.get("PODIUM_HTTPS", "") == "1",
        max_upload_bytes=int(env.get("PODIUM_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        redis_prefix=env.get("PODIUM_REDIS_PREFIX", "podium"),
        max_requests=int(env.get("PODIUM_MAX_REQUESTS", "256")),
    )
