"""Faults on the live stack, under traffic: a server killed, a graceful reload, slow clients, Redis down.

Traffic is several patients on loopback addresses of their own, each doing the whole journey over
and over through nginx (tests/live/client.py). "Acknowledged" means the person saw the 302 to their
result; its screening id is read from the signed session cookie of that response.
"""

from __future__ import annotations

import http.client
import signal
import socket
import ssl
import time
from contextlib import ExitStack

import pytest

from tests.live.client import Recorder, Traffic, patient_journey, sign_in
from tests.live.conftest import create_staff, figure, new_client, stored, through_nginx
from tests.live.stack import HOST, SERVER_NAME, Stack

USERS = 4
PER_ACCOUNT = 5


def users(stack: Stack, count: int = USERS) -> list[str]:
    return [stack.next_address() for _ in range(count)]


def test_kill_9_of_one_app_server_loses_no_acknowledged_screening(stack: Stack) -> None:
    victim, survivor = stack.servers
    traffic = Traffic(through_nginx(stack), users(stack), stack.secret_key, seconds=40)
    try:
        with traffic:
            time.sleep(3)
            killed_at = time.monotonic()
            victim.kill9()
            time.sleep(3)
            traffic.until_acknowledged_after(killed_at + 0.5, count=USERS)
    finally:
        if victim.process is None:
            restarted = time.monotonic()
            victim.start()
            figure("kill -9 restart", seconds_until_healthy=time.monotonic() - restarted)
    recorder = traffic.recorder
    after = [sent for sent in recorder.sent if sent.started > killed_at + 0.5]
    failed = recorder.failures()
    figure(
        "kill -9",
        requests=len(recorder.sent),
        failed=len(failed),
        failed_window_s=max((s.started + s.seconds for s in failed), default=killed_at) - killed_at,
        acknowledged=len(recorder.acknowledged),
        acknowledged_after_kill=sum(1 for at, _ in recorder.acknowledged if at > killed_at),
        slowest_after_kill_s=max((s.seconds for s in after), default=0.0),
    )
    # Only what was inside the killed server when it died can fail; nothing after.
    assert len(failed) <= USERS, failed
    assert all(sent.started <= killed_at + 0.5 for sent in failed), failed
    assert all(sent.ok for sent in after)
    assert traffic.acknowledged_after(killed_at + 0.5) >= USERS, "the other server completed too few journeys"
    found = stored(stack.database_url, recorder.screening_ids)
    assert found.missing == [], f"acknowledged screenings lost: {found.missing}"
    assert found.without_version == []
    assert found.drafts_to_nowhere == 0
    assert survivor.healthy()


def test_a_graceful_reload_during_load_fails_no_request(stack: Stack) -> None:
    traffic = Traffic(through_nginx(stack), users(stack), stack.secret_key, seconds=60)
    reloads = []
    with traffic:
        time.sleep(1.5)
        for server in stack.servers:  # one after the other, as a rolling deploy would
            before = server.reload()
            reloads.append(server.wait_reloaded(before))
            time.sleep(1)
        reloaded_at = time.monotonic()
        traffic.until_acknowledged_after(reloaded_at, count=USERS)
    recorder = traffic.recorder
    figure(
        "HUP",
        requests=len(recorder.sent),
        failed=len(recorder.failures()),
        acknowledged=len(recorder.acknowledged),
        reload_s=" / ".join(f"{seconds:.2f}" for seconds in reloads),
        slowest_request_s=max(sent.seconds for sent in recorder.sent),
    )
    assert recorder.failures() == []
    assert traffic.errors == []
    assert traffic.acknowledged_after(reloaded_at) >= USERS, "the reloaded servers completed too few journeys"
    assert stored(stack.database_url, recorder.screening_ids).missing == []


def tls_socket(stack: Stack, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection((HOST, stack.nginx.https_port), timeout=5)
    return context.wrap_socket(raw, server_hostname=SERVER_NAME)


def test_half_sent_requests_do_not_stop_normal_ones(stack: Stack) -> None:
    server = stack.servers[0]
    # Control: the attack works against gunicorn's sync workers alone (this is why nginx is in front).
    with ExitStack() as hogs:
        for _ in range(server.workers):
            hog = hogs.enter_context(socket.create_connection((HOST, server.port), timeout=5))
            hog.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        time.sleep(0.3)
        connection = http.client.HTTPConnection(HOST, server.port, timeout=1.5)
        connection.request("GET", "/healthz")  # accepted by the kernel, then waits for a free worker
        with pytest.raises(TimeoutError):
            connection.getresponse()
        connection.close()
    server.wait_ready()

    context = ssl.create_default_context(cafile=str(stack.certificate.certificate))
    attackers: list[ssl.SSLSocket] = []
    try:
        opened = time.monotonic()
        for _ in range(200):  # headers that never end
            attacker = tls_socket(stack, context)
            attacker.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            attackers.append(attacker)
        for _ in range(40):  # a body that never arrives
            attacker = tls_socket(stack, context)
            head = b"POST /start HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            attacker.sendall(head + b"Content-Length: 60000\r\n\r\n" + b"a=" + b"x" * 1000)
            attackers.append(attacker)
        # Meanwhile, a patient's whole journey, and a few more pages.
        recorder = Recorder()
        assert patient_journey(new_client(stack), recorder, stack.secret_key) is not None
        for _ in range(10):
            recorder.request(new_client(stack), "GET", "/about-isotretinoin")
        assert recorder.failures() == []
        slowest = max(sent.seconds for sent in recorder.sent)
        assert slowest < 3, f"a normal request took {slowest:.1f} s during the attack"
        # nginx gives up on the half-sent requests by itself (client_header_timeout, client_body_timeout: 10 s).
        given_up = 0
        for attacker in attackers:
            attacker.settimeout(max(0.05, opened + 20 - time.monotonic()))
            try:
                attacker.recv(4096)  # b"" (closed) or nginx's 408
                given_up += 1
            except TimeoutError:
                pass  # still held open by nginx
            except OSError:  # reset by nginx (reset_timedout_connection)
                given_up += 1
        closed_after = time.monotonic() - opened
        figure(
            "slow clients",
            half_sent=len(attackers),
            slowest_normal_s=slowest,
            closed_by_nginx=given_up,
            all_closed_after_s=closed_after,
        )
        assert given_up == len(attackers), f"only {given_up} of {len(attackers)} closed after {closed_after:.0f} s"
    finally:
        for attacker in attackers:
            attacker.close()


def test_with_redis_down_patients_are_served_and_sign_in_stays_throttled(stack: Stack) -> None:
    redis = stack.redis
    assert redis.process is not None
    workers = sum(server.workers for server in stack.servers)
    try:
        # Stalled first (the process stopped, its port still accepting): at most half a second, once a worker.
        redis.process.send_signal(signal.SIGSTOP)
        stalled = Recorder()
        for _ in range(2):
            assert patient_journey(new_client(stack), stalled, stack.secret_key) is not None
        redis.process.send_signal(signal.SIGCONT)
        # Then stopped.
        redis.stop()
        down = Recorder()
        for _ in range(workers):
            assert patient_journey(new_client(stack), down, stack.secret_key) is not None
        assert stalled.failures() == []
        assert down.failures() == []
        # Each worker now counts in its own memory: at most 5 failures each, then 429.
        account = create_staff(stack)
        attempts = PER_ACCOUNT * workers + 5
        statuses = [
            sign_in(new_client(stack), account.username, "a wrong password, again").status for _ in range(attempts)
        ]
        figure(
            "Redis down",
            slowest_patient_request_stalled_s=max(sent.seconds for sent in stalled.sent),
            slowest_patient_request_down_s=max(sent.seconds for sent in down.sent),
            sign_in_attempts=attempts,
            refused_429=statuses.count(429),
        )
        assert set(statuses) <= {400, 429}
        assert statuses.count(400) <= PER_ACCOUNT * workers
        assert statuses.count(429) >= attempts - PER_ACCOUNT * workers
        assert max(sent.seconds for sent in stalled.sent + down.sent) < 3
    finally:
        if redis.process is not None:
            redis.process.send_signal(signal.SIGCONT)
        redis.stop()
        redis.start()
        # The workers return to Redis by themselves (Flask-Limiter checks again after 1, 2, 4 ... 32 s);
        # reload them now so that the next tests start from shared counts.
        for server in stack.servers:
            server.wait_reloaded(server.reload())
