"""``screener metrics``: Prometheus metrics on an address of their own (never the app's port).

Served figures:

- ``screener_http_requests_total{endpoint,method,status}`` and
  ``screener_http_request_duration_seconds{endpoint}``: recorded by every app process
  (``screener.observability``). gunicorn's workers are separate processes, so they write their
  figures to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) and
  this command serves their sum. Give the app servers and this command the same folder.
- From the database, read at each scrape: ``screener_screenings_completed_total`` (screenings in
  the database), ``screener_urgent_alerts_open`` (not yet acknowledged),
  ``screener_audit_newest_event_age_seconds`` (time since the newest audit event), and
  ``screener_database_up`` (0 when the database could not be read; the others are then absent).

- ``screener_audit_checkpoint_age_seconds``: time since the newest signed audit checkpoint
  (``screener audit checkpoint``, or the audit page); absent until the first one. Alert on it
  growing past the checkpoint schedule: nobody is exporting checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from screener.clock import utcnow
from screener.db import Database, DatabaseUnavailable
from screener.models import AuditCheckpoint, AuditEvent, Screening
from screener.store.screenings import count_open_alerts

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_BIND = "127.0.0.1:9100"


def audit_checkpoint_age(session: Session, now: datetime) -> float | None:
    """Seconds since the newest signed audit checkpoint; None before the first one."""
    newest = session.scalar(select(AuditCheckpoint.created_at).order_by(AuditCheckpoint.id.desc()).limit(1))
    return None if newest is None else max(0.0, (now - newest).total_seconds())


class DatabaseCollector(Collector):
    """Figures read from the database at each scrape (the same for every app server)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("screener_database_up", "1 if this scrape could read the database, else 0")
        try:
            with self.database.read() as session:
                now = utcnow()
                completed = int(session.scalar(select(func.count()).select_from(Screening)) or 0)
                open_alerts = count_open_alerts(session)
                newest = session.scalar(select(AuditEvent.occurred_at).order_by(AuditEvent.id.desc()).limit(1))
                checkpoint_age = audit_checkpoint_age(session, now)
        except (DatabaseUnavailable, SQLAlchemyError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield CounterMetricFamily(
            "screener_screenings_completed", "Completed screenings in the database (all versions' parents)", completed
        )
        yield GaugeMetricFamily("screener_urgent_alerts_open", "Urgent staff alerts not yet acknowledged", open_alerts)
        if newest is not None:
            yield GaugeMetricFamily(
                "screener_audit_newest_event_age_seconds",
                "Seconds since the newest audit event was recorded",
                max(0.0, (now - newest).total_seconds()),
            )
        if checkpoint_age is not None:
            yield GaugeMetricFamily(
                "screener_audit_checkpoint_age_seconds",
                "Seconds since the newest signed audit checkpoint",
                checkpoint_age,
            )


def registry(database: Database, multiprocess_dir: str | None) -> CollectorRegistry:
    """The app processes' request figures (summed across gunicorn workers) and the database's."""
    found = CollectorRegistry()
    if multiprocess_dir:
        MultiProcessCollector(found, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    found.register(DatabaseCollector(database))
    return found


def parse_bind(bind: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9100`` for IPv6) -> (host, port)."""
    host, separator, port = bind.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"--bind must be HOST:PORT, not {bind!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def serve(database_url: str, bind: str, multiprocess_dir: str | None) -> tuple[WSGIServer, Thread]:
    """Serve in a background thread (``thread.join()`` to wait, ``server.shutdown()`` to stop)."""
    host, port = parse_bind(bind)
    if multiprocess_dir and not os.path.isdir(multiprocess_dir):
        raise ValueError(f"{MULTIPROCESS_ENV}={multiprocess_dir} is not a folder")
    return start_http_server(port, addr=host, registry=registry(Database(database_url), multiprocess_dir))
