"""Settings, read from the environment.

This module is the only reader of ``os.environ``. Every setting has a safe default that keeps the
portal's state under ``instance/`` (or under ``BENCHSIDE_INSTANCE``, so that one checkout can serve
several instance folders).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


INSTANCE_DIR = Path(_env("BENCHSIDE_INSTANCE", str(ROOT / "instance"))).resolve()


class Config:
    """Development defaults; every value can be overridden from the environment."""

    ENV_NAME = "development"
    INSTANCE_DIR = INSTANCE_DIR
    # Unset, ``create_app`` reads (or makes, once) ``INSTANCE_DIR/secret_key``: a constant in the
    # source would let anyone who read it forge sessions; a key made per process would sign
    # everyone out on every restart. Production refuses to start without one (see below).
    SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
    DATABASE_URL = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'benchside.db'}")
    SEARCH_INDEX_DIR = Path(_env("SEARCH_INDEX_DIR", str(INSTANCE_DIR / "search")))
    UPLOAD_DIR = Path(_env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads")))
    # How many reverse proxies stand in front (each adds X-Forwarded-For); 0 trusts none. Behind
    # one, the client's address (used to throttle failed sign-ins) is only known through it.
    PROXY_COUNT = _env_int("PROXY_COUNT", 0)
    # The address links in mails point at; requests know their own host, the outbox worker does not.
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")

    MAIL_SERVER = _env("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _env_int("MAIL_PORT", 8025)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Benchside <no-reply@benchside.local>")
    # A message the mail server refuses for good (5xx) this many times in a row is given up and
    # listed for admins (Undelivered mail); passing refusals (4xx, no answer) are retried.
    OUTBOX_GIVE_UP_AFTER = _env_int("OUTBOX_GIVE_UP_AFTER", 3)
    # A repair of a unit within this many days of its last repair's end is a redo: flagged on
    # both, the earlier fix shown (a fix that did not hold).
    REDO_DAYS = _env_int("REDO_DAYS", 90)
    # Warranty claims: the fee per approved exchange, the product lines repaired at the
    # customer's (travel may be claimed), and the total below which an unflagged claim is
    # approved by the rules (0: a person reviews every claim).
    WARRANTY_HANDLING_FEE = _env("WARRANTY_HANDLING_FEE", "15.00")
    WARRANTY_TRAVEL_LINES = tuple(
        line.strip() for line in _env("WARRANTY_TRAVEL_LINES", "TV").split(",") if line.strip()
    )
    WARRANTY_AUTO_APPROVE_UNDER = _env("WARRANTY_AUTO_APPROVE_UNDER", "0")
    ESCALATION_ADDRESS = _env("ESCALATION_ADDRESS", "escalations@benchside.local")
    ATTACHMENT_MAX_BYTES = _env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
    ESCALATION_CATEGORIES = tuple(
        c.strip()
        for c in _env("ESCALATION_CATEGORIES", "technical,parts,warranty,other").split(",")
        if c.strip()
    )
    # Response targets in business hours, by priority: first response, then resolution.
    FIRST_RESPONSE_HOURS: ClassVar[dict[str, int]] = {
        "normal": _env_int("FIRST_RESPONSE_HOURS_NORMAL", 8),
        "urgent": _env_int("FIRST_RESPONSE_HOURS_URGENT", 2),
    }
    RESOLUTION_HOURS: ClassVar[dict[str, int]] = {
        "normal": _env_int("RESOLUTION_HOURS_NORMAL", 40),
        "urgent": _env_int("RESOLUTION_HOURS_URGENT", 16),
    }
    BUSINESS_TIMEZONE = _env("BUSINESS_TIMEZONE", "Europe/Amsterdam")
    BUSINESS_HOURS = _env("BUSINESS_HOURS", "08:00-18:00")
    BUSINESS_DAYS = _env("BUSINESS_DAYS", "mon,tue,wed,thu,fri")
    BUSINESS_HOLIDAYS = _env("BUSINESS_HOLIDAYS", "2026-12-25,2026-12-26,2027-01-01")
    # Days the search index's change log is kept; a node away for longer rebuilds its index.
    SEARCH_CHANGES_KEEP_DAYS = _env_int("SEARCH_CHANGES_KEEP_DAYS", 14)
    # The assignee is reminded this much working time before a target is missed.
    ESCALATION_REMINDER_MINUTES = _env_int("ESCALATION_REMINDER_MINUTES", 60)
    # Who has not acknowledged a published notice this many days after it was sent is reminded
    # by mail (in business hours, by `flask --app wsgi notices remind`), and again as often.
    NOTICE_REMIND_AFTER_DAYS = _env_int("NOTICE_REMIND_AFTER_DAYS", 3)

    # Failed sign-ins only are counted, per account and per address, within a sliding window.
    LOGIN_FAILURE_WINDOW_MINUTES = _env_int("LOGIN_FAILURE_WINDOW_MINUTES", 15)
    LOGIN_MAX_FAILURES_PER_ACCOUNT = _env_int("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
    LOGIN_MAX_FAILURES_PER_ADDRESS = _env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 30)
    PASSWORD_RESET_MAX_AGE_MINUTES = _env_int("PASSWORD_RESET_MAX_AGE_MINUTES", 60)
    PASSWORD_RESET_MAILS_PER_HOUR = _env_int("PASSWORD_RESET_MAILS_PER_HOUR", 3)
    INVITATION_MAX_AGE_DAYS = _env_int("INVITATION_MAX_AGE_DAYS", 14)
    MIN_PASSWORD_LENGTH = _env_int("MIN_PASSWORD_LENGTH", 10)
    # Argon2id's cost (argon2-cffi's defaults, RFC 9106's low-memory choice): raise it on a big
    # server, never lower it in production.
    ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_KIB = _env_int("ARGON2_MEMORY_KIB", 64 * 1024)
    ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 4)

    SESSION_COOKIE_NAME = "benchside_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_NAME = "benchside_remember"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_DURATION_DAYS = _env_int("REMEMBER_COOKIE_DURATION_DAYS", 30)

    # Tokens live as long as the sign-in session; an expiry mid-form is handled by re-rendering.
    WTF_CSRF_TIME_LIMIT = _env_int("WTF_CSRF_TIME_LIMIT_SECONDS", 8 * 3600)
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 64 * 1024 * 1024)
    # Catalogue releases: a .zip may unpack to at most this much, each file compressed at most
    # RATIO times (checked before unpacking); a full snapshot that would delist more than this
    # share of the listed parts needs confirming (--allow-drops, or the upload page's box).
    RELEASE_MAX_BYTES = _env_int("RELEASE_MAX_BYTES", 512 * 1024 * 1024)
    RELEASE_MAX_RATIO = _env_int("RELEASE_MAX_RATIO", 200)
    RELEASE_MAX_DROP_SHARE = float(_env("RELEASE_MAX_DROP_SHARE", "0.05"))
    # A drawing of an exploded view (SVG or PNG in a release) may be at most this big.
    DIAGRAM_MAX_BYTES = _env_int("DIAGRAM_MAX_BYTES", 2 * 1024 * 1024)
    # Diagnostic trees: a document over either limit is refused before it is parsed (the CLI,
    # the editor's upload, the API's draft); a megabyte holds 500 nodes with long texts.
    TREE_MAX_BYTES = _env_int("TREE_MAX_BYTES", 1024 * 1024)
    TREE_MAX_NODES = _env_int("TREE_MAX_NODES", 500)

    # --- Security headers and request logs (app/security.py, app/request_log.py) -------------
    # Every response carries a strict Content-Security-Policy and the other security headers;
    # in production (ProductionConfig, behind HTTPS) also Strict-Transport-Security, telling
    # browsers to use HTTPS only for this long. Each request is logged as one JSON line on the
    # "benchside.request" logger (INFO) with its X-Request-ID.
    HSTS_MAX_AGE_SECONDS = _env_int("HSTS_MAX_AGE_SECONDS", 365 * 24 * 3600)


class ProductionConfig(Config):
    """Behind HTTPS: cookies are only sent over TLS, whatever the environment says."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


#: What production may not run without. A key made on one node's disk would make every other
#: node refuse its sessions, CSRF tokens and reset links; a default BASE_URL would put
#: http://127.0.0.1 links in every mail.
MIN_SECRET_KEY_LENGTH = 32


def production_problems(environ: Mapping[str, str]) -> list[str]:
    problems = []
    if len(environ.get("SECRET_KEY", "").strip()) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"SECRET_KEY must be set, the same on every node, at least {MIN_SECRET_KEY_LENGTH} "
            "characters (python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if not environ.get("BASE_URL", "").strip().startswith("https://"):
        problems.append("BASE_URL must be the portal's https:// address (links in mail use it)")
    if not environ.get("DATABASE_URL", "").strip():
        problems.append("DATABASE_URL must name the PostgreSQL database")
    return problems


class TestConfig(Config):
    """Used by the test suite; the fixtures override paths and the database."""

    ENV_NAME = "test"
    TESTING = True
    TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
    WTF_CSRF_ENABLED = True
    SECRET_KEY = "test-secret-key-not-for-any-deployment"  # nosec B105  # the suite's own
    # The suite signs hundreds of people in; what it tests is who gets in, not how hard a stolen
    # hash is to crack (tests/web/test_password_hashing.py uses the real cost).
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_KIB = 8
    ARGON2_PARALLELISM = 1


def config_from_env() -> type[Config]:
    """Pick the settings class named by ``BENCHSIDE_ENV`` (``development`` or ``production``)."""
    name = _env("BENCHSIDE_ENV", "development")
    choices: dict[str, type[Config]] = {"development": Config, "production": ProductionConfig}
    if name not in choices:
        raise RuntimeError(f"BENCHSIDE_ENV must be one of {sorted(choices)}, not {name!r}")
    if name == "production" and (problems := production_problems(os.environ)):
        raise RuntimeError("Production settings are incomplete: " + "; ".join(problems) + ".")
    return choices[name]
