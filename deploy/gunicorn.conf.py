"""gunicorn settings for Screener behind nginx (deploy/nginx/screener.conf.in).

Installed as /etc/screener/gunicorn.conf.py and started by deploy/systemd/screener.service:
``gunicorn --config /etc/screener/gunicorn.conf.py``. The app's own settings come from the
environment (/etc/screener/screener.env, see deploy/screener.env.example). Per server, without
editing this file: ``WEB_CONCURRENCY`` (workers) and ``GUNICORN_CMD_ARGS`` (e.g. ``--bind
10.0.0.5:8000`` when nginx runs on another machine); command-line options win over both.

Sync workers are right here: nginx buffers every request and response, so a worker is only ever
busy with a complete request, never with a slow client. ``kill -HUP`` (systemctl reload) starts
new workers and lets the old ones finish: a reload fails no request.

Before anything is served the master checks the app's configuration (``on_starting``, in a separate
interpreter): an unsafe production setting, or ``memory://`` throttling with more than one worker in
production, stops it with a message naming the setting (exit status 1). With
``PROMETHEUS_MULTIPROC_DIR`` set (the systemd unit sets it), the workers' request metrics go to files
there, summed by ``screener metrics`` (deploy/systemd/screener-metrics.service).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from typing import Any

wsgi_app = "screener.app:create_app()"
bind = ["127.0.0.1:8000"]
# Two per core, plus one: requests wait on PostgreSQL and Redis part of the time.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
worker_class = "sync"
threads = 1
timeout = 30  # a request still running after 30 s is killed (nginx waits 35 s)
graceful_timeout = 25  # on stop and reload, old workers finish their requests (systemd waits 40 s)
max_requests = 2000  # workers are replaced now and then (memory), staggered by the jitter
max_requests_jitter = 200
preload_app = False  # each worker opens its own database connections after the fork
# Heartbeat files in memory, off the disk (systemd's PrivateDevices keeps /dev/shm, private to the service).
SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
# nginx sets X-Forwarded-* (the app's ProxyFix reads them, SCREENER_PROXY_COUNT=1); gunicorn itself
# trusts them only from these addresses: FORWARDED_ALLOW_IPS=<nginx's address> when it runs elsewhere.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
# Request limits as nginx's (large_client_header_buffers 4 8k).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None  # nginx keeps the access log
errorlog = "-"  # to the journal
loglevel = "info"
proc_name = "screener"
control_socket_disable = True  # gunicorn 25+: no control socket (two servers on one machine would share it)


#: Run in a separate interpreter, so that the master imports nothing of the app: on HUP the new workers
#: then load the app's code afresh (a reload after an upgrade runs the new rules, not the master's copy).
CHECK = """
import sys
from screener import config

workers = int(sys.argv[1])
try:
    settings = config.load()
    config.check_worker_count(settings, workers)
except config.ConfigError as error:
    sys.exit(str(error))
if config.per_process_storage(settings) and workers > 1:
    print(f"throttling in memory:// with {workers} workers: each keeps its own count (development only)")
try:
    from screener.observability import gunicorn_on_starting
except ImportError:
    pass
else:
    gunicorn_on_starting(None)  # empties PROMETHEUS_MULTIPROC_DIR: no figures of an earlier run
"""


#: Third-party libraries the app loads, imported once by the master: each new worker (after a reload,
#: after max_requests, after a crash) then only imports the app's own code, in a fraction of a second,
#: instead of making its server's requests wait while it loads everything. The app's own modules are
#: never imported here, so a reload always runs the new code; after upgrading one of these, restart.
PRELOADED = (
    "flask",
    "flask_babel",
    "flask_limiter",
    "flask_login",
    "flask_wtf",
    "wtforms",
    "jinja2",
    "werkzeug",
    "sqlalchemy.orm",
    "alembic.command",
    "alembic.config",
    "psycopg",
    "argon2",
    "redis",
    "limits.storage",
    "prometheus_client",
    "zxcvbn",
)


def on_starting(server: Any) -> None:
    """Refuse to start with an unsafe configuration, before any worker is forked (exit status 1)."""
    checked = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", CHECK, str(int(server.cfg.workers))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if checked.returncode != 0:
        raise RuntimeError(
            checked.stderr.strip().splitlines()[-1] if checked.stderr.strip() else "settings check failed"
        )
    for line in checked.stdout.splitlines():
        server.log.warning(line)
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:
            server.log.info("not preloaded (not installed): %s", name)


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended: drop its live metrics (prometheus-client's multiprocess mode), keep its counts."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
