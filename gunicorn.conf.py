"""Gunicorn settings for the portal: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Gunicorn reads this file itself; the application's own settings stay in ``config.py``. Every value
here can be changed from the environment, so one file serves every machine:

| variable | default | meaning |
| --- | --- | --- |
| `GUNICORN_BIND` | `127.0.0.1:8000` | address (or `unix:/path`) the reverse proxy talks to |
| `WEB_CONCURRENCY` | usable cores + 1 | worker processes |
| `GUNICORN_THREADS` | `4` | threads per worker |
| `GUNICORN_TIMEOUT` | `30` | seconds a silent worker lives before it is killed |
| `GUNICORN_GRACEFUL_TIMEOUT` | `30` | seconds a stopping worker has to finish its requests |
| `GUNICORN_KEEPALIVE` | `5` | seconds an idle keep-alive connection is held |
| `GUNICORN_MAX_REQUESTS` | `2000` | requests before a worker is replaced (0: never) |
| `GUNICORN_MAX_REQUESTS_JITTER` | `200` | random extra, so workers are not replaced together |
| `FORWARDED_ALLOW_IPS` | `127.0.0.1,::1` | proxies trusted for `X-Forwarded-Proto` |
| `GUNICORN_ACCESS_LOG` | none | gunicorn's own access log (`-`: stdout); raw paths, tokens too |
| `GUNICORN_LOG_LEVEL` | `info` | error log level |
| `GUNICORN_CONTROL_SOCKET` | gunicorn's | `gunicornc`'s socket; one per service on a machine |
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    # The CPUs this process may run on (a container's or taskset's share), not the host's count.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Loopback only by default: TLS, slow clients and static caching belong to the reverse proxy, and
# a portal listening on every interface by accident would bypass it.
bind = os.environ.get("GUNICORN_BIND", "").strip() or "127.0.0.1:8000"

# Threads, not more processes: a request spends part of its time waiting for PostgreSQL, and
# threads wait for it cheaply, while each process holds its own copy of the app, its connection
# pool and its Whoosh searchers. Measured with bench/load.py on 2 shared cores (README, "Load
# test"), 50 users: 2 x cores + 1 single-threaded workers answered with p95 0.5-1.3 s and p99
# 1.2-5.5 s in the steady state, against about 0.1 s and 0.1-0.3 s for threaded workers, and took
# 45 % more memory. A keep-alive connection stays with the worker that accepted it, so with one
# thread its next request waits behind that worker's sign-in (Argon2, 1-2 s under load) while
# other workers idle. cores + 1 workers of 4 threads and 2 workers of 8 were alike; the third
# process keeps two thirds of the capacity while max_requests replaces one.
workers = _int("WEB_CONCURRENCY", _cores() + 1)
worker_class = "gthread"
# Each thread holds at most one database connection at a time: keep workers x threads below
# PostgreSQL's max_connections (100 by default) minus the CLI workers, and within SQLAlchemy's
# default pool (5 + 10 overflow per process).
threads = _int("GUNICORN_THREADS", 4)

# A gthread worker's main loop reports in even while a request runs, so this kills a wedged
# process (a deadlock, a stuck import), not a slow request: that limit is the proxy's read timeout.
timeout = _int("GUNICORN_TIMEOUT", 30)
# Long enough for an order or a catalogue page in progress to finish during a deploy.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Above the proxy's idle timeout towards upstreams would leave the proxy writing into sockets we
# closed; a few seconds lets it reuse connections between a page and its next request.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# Replacing workers now and then bounds slow growth (caches, fragmentation, a leak in a
# dependency); the jitter keeps them from all restarting at once under steady load.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# The app is imported in each worker after the fork, never in the master: its SQLAlchemy engine
# and the open Whoosh index must not be shared between processes. It also lets a HUP pick up new
# code.
preload_app = False
# The heartbeat file is touched continuously; on tmpfs that never waits on a busy or full disk
# (containers often have a slow overlay /tmp).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Only the proxy may say the request came over HTTPS (it decides the scheme of generated links
# and Secure cookies). The client address for sign-in throttling is the app's ProxyFix, set by
# PROXY_COUNT in config.py: set both when a proxy stands in front.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1,::1"

# gunicornc's socket (worker counts, graceful reloads). Gunicorn's default is one path per user
# ($HOME/.gunicorn/gunicorn.ctl), and a second gunicorn of that user takes it over and removes it on
# exit: name one per service when a machine runs several.
if os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip():
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"].strip()

# One JSON object a line on stdout, for the log collector (journald, Docker) to ship as is.
# Gunicorn escapes double quotes in values but not backslashes: a parser should skip a line it
# cannot read rather than stop. request_id is the X-Request-ID the app answers with
# (the proxy's, or one it made), so a line can be matched with the app's own log and the user's
# report; "-" when absent. duration_us is the time inside gunicorn, without the proxy's.
# Off unless asked for: the portal logs every request itself (app/request_log.py), with reset
# and invitation tokens taken out of the path, which gunicorn cannot do. Turn it on for what only
# the server sees (bench/load.py reads it), and keep such a log as private as the tokens.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "").strip() or None
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "forwarded_for": "%({x-forwarded-for}i)s", '
    '"method": "%(m)s", "path": "%(U)s", "status": %(s)s, '
    '"bytes": "%(b)s", "duration_us": %(D)s, "request_id": "%({x-request-id}o)s", '
    '"user_agent": "%(a)s", "pid": "%(p)s"}'
)
# Errors (worker starts and deaths, tracebacks the app logs) go to stderr, apart from the
# access lines, so that they are neither lost among them nor parsed as them.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info").strip() or "info"
