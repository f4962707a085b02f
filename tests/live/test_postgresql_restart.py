"""PostgreSQL restarted under traffic (R-8): clean 503s while it is away, then recovery; no hang, no partial rows.

The machine's own PostgreSQL is never touched: this test makes a cluster of its own with
``pg_createcluster`` on a free port (root and Debian's postgresql-common needed), puts the shipped
nginx and an app server (two workers) in front of it, and drops it at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.client import Endpoint, Traffic
from tests.live.conftest import figure, setting_up, stored
from tests.live.stack import Stack, ThrowawayCluster, require_tools, stack

USERS = 4
#: No request may take longer than this, whatever PostgreSQL does (gunicorn would kill it at 30 s).
NO_HANG_SECONDS = 10.0
OUTAGE_SECONDS = 2.0
#: The app's own 503 page (screener/app.py), in English.
BUSY_PAGE = "Sorry, the service is busy"


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayCluster]:
    made = ThrowawayCluster()
    with setting_up():
        require_tools(
            "pg_createcluster", "pg_ctlcluster", "pg_lsclusters", "pg_dropcluster", why="a throwaway PostgreSQL cluster"
        )
        made.create()
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture(scope="module")
def small_stack(cluster: ThrowawayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory: Path = tmp_path_factory.mktemp("restart-stack")
    with setting_up(), stack(directory, cluster.url, servers=1, workers=2) as started:
        yield started


def test_a_postgresql_restart_gives_clean_503s_then_recovers(cluster: ThrowawayCluster, small_stack: Stack) -> None:
    endpoint = Endpoint(small_stack.nginx.https_port, small_stack.certificate.certificate, small_stack.nginx.https_port)
    sources = [small_stack.next_address() for _ in range(USERS)]
    traffic = Traffic(endpoint, sources, small_stack.secret_key, seconds=60)
    with traffic:
        time.sleep(2.5)
        down_at = time.monotonic()
        stop_seconds = cluster.ctl("stop", "--mode", "fast")
        time.sleep(OUTAGE_SECONDS)
        start_seconds = cluster.ctl("start")
        up_at = time.monotonic()
        time.sleep(2)
        traffic.until_acknowledged_after(up_at, count=USERS)
    recorder = traffic.recorder
    statuses = {sent.status for sent in recorder.sent}
    unavailable = [sent for sent in recorder.sent if sent.status == 503]
    recovered = [sent for sent in recorder.sent if sent.ok and sent.started >= up_at and sent.path != "/"]
    first_ok = min((sent.started + sent.seconds for sent in recovered), default=float("nan"))
    figure(
        "PostgreSQL restart",
        requests=len(recorder.sent),
        answered_503=len(unavailable),
        stop_s=stop_seconds,
        start_s=start_seconds,
        database_away_s=up_at - down_at,
        first_503_after_stop_s=min((s.started + s.seconds for s in unavailable), default=down_at) - down_at,
        last_503_after_stop_s=max((s.started + s.seconds for s in unavailable), default=down_at) - down_at,
        recovered_after_start_s=first_ok - up_at,
        slowest_s=max(sent.seconds for sent in recorder.sent),
        acknowledged=len(recorder.acknowledged),
    )
    assert statuses <= {200, 302, 503}, f"not a clean failure: {sorted(statuses)}; {traffic.errors[:5]}"
    assert unavailable, "no request met the outage"
    assert all(down_at - 1 <= sent.started + sent.seconds for sent in unavailable)
    assert BUSY_PAGE in recorder.first_body[503].decode()
    assert max(sent.seconds for sent in recorder.sent) < NO_HANG_SECONDS
    assert recovered, "nothing succeeded after PostgreSQL was back"
    assert traffic.acknowledged_after(up_at) >= USERS, "too few screenings were completed after the restart"
    found = stored(small_stack.database_url, recorder.screening_ids)
    assert found.missing == []
    assert found.without_version == [], f"screenings without their version (partial writes): {found.without_version}"
    assert found.drafts_to_nowhere == 0
    submits = [sent for sent in recorder.sent if sent.path == "/submit"]
    assert found.screenings <= sum(1 for sent in submits if sent.status in (302, 503, 0))
