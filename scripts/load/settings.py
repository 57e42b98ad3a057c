"""The stress run's fixed bounds, what it reads from the environment, and its safety checks.

Where everything runs (this machine's loopback), which demo accounts the clients log in as, how
long each phase may take, and the checks made before anything is dropped: the database must be
a local one named for the stress run.
"""

from __future__ import annotations

import re
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/tracker_stress"
PASSWORD = "kumamoto-demo"
TOTP_SECRET = "KUMAMOTODEMOTOTPSECRETFORDEMO234"  # the demo managers' second factor (README)
LIAISONS = ("chuo.liaison", "higashi.liaison", "minami.liaison", "kita.liaison")
MANAGERS = ("chuo.manager", "higashi.manager", "minami.manager", "kita.manager")

# Fixed bounds (seconds) around the run: the whole script never exceeds their sum (see Settings.bound).
SETUP_LIMIT = 180  # database, migrations, seed, Redis, worker, gunicorn up
JOIN_LIMIT = 40  # clients finishing their last request (HTTP timeout 30 s)
CLEANUP_LIMIT = 60  # stopping gunicorn, the worker and Redis, and the final queries
HTTP_TIMEOUT = 30


class SetupError(RuntimeError):
    """The stack could not be set up; the message says what failed."""


# --- settings and safety ---------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    seconds: int = 60
    clients: int = 8
    database_url: str = DEFAULT_DATABASE_URL
    outage_seconds: float = 10.0
    drain_seconds: int = 90
    double_submit: float = 0.15  # share of manager actions sent twice at once from two sessions

    @classmethod
    def from_env(cls, env) -> Settings:
        return cls(
            seconds=max(5, int(env.get("STRESS_SECONDS", "60"))),
            clients=max(2, int(env.get("STRESS_CLIENTS", "8"))),
            database_url=env.get("STRESS_DATABASE_URL", DEFAULT_DATABASE_URL),
            outage_seconds=max(0.0, float(env.get("STRESS_OUTAGE_SECONDS", "10"))),
            drain_seconds=max(10, int(env.get("STRESS_DRAIN_SECONDS", "90"))),
            double_submit=min(1.0, max(0.0, float(env.get("STRESS_DOUBLE_SUBMIT", "0.15")))),
        )

    def bound(self) -> int:
        """The longest the whole script may take, in seconds."""
        return SETUP_LIMIT + self.seconds + JOIN_LIMIT + self.drain_seconds + CLEANUP_LIMIT


def outage_window(seconds: float, outage: float) -> tuple[float, float]:
    """When (seconds after the clients start) Redis goes down, and for how long.

    It starts at 30 % of the run and never lasts past 80 % of it, so the run sees before,
    during and after.
    """
    start = max(1.0, seconds * 0.3)
    return start, max(0.0, min(outage, seconds * 0.8 - start))


def check_loopback_database(url: str) -> str:
    """The database name of ``url``; raise SetupError unless it is local and a stress database."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise SetupError(f"STRESS_DATABASE_URL must be a postgresql:// URL, not {parts.scheme!r}")
    query_host = urllib.parse.parse_qs(parts.query).get("host", [""])[0]
    host = parts.hostname
    if host is not None and host not in LOOPBACK:
        raise SetupError(f"STRESS_DATABASE_URL must point to this machine's loopback, not {host!r}")
    if host is None and query_host and not query_host.startswith("/") and query_host not in LOOPBACK:
        raise SetupError(f"STRESS_DATABASE_URL must point to this machine's loopback, not {query_host!r}")
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or ""):
        raise SetupError(f"STRESS_DATABASE_URL needs a plain database name, not {name!r}")
    if "stress" not in name.lower():
        raise SetupError(f"refusing to drop database {name!r}: its name must contain 'stress'")
    return name


def libpq_url(url: str, database: str | None = None) -> str:
    """``url`` for psycopg (no SQLAlchemy driver suffix), optionally on another database."""
    parts = urllib.parse.urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    if parts.scheme == "postgres":
        parts = parts._replace(scheme="postgresql")
    if database is not None:
        parts = parts._replace(path="/" + database)
    return urllib.parse.urlunsplit(parts)


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now, on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0
