"""A small HTTP(S) client for the live stack, and the traffic the fault tests run through it.

- ``Client``: cookies and CSRF tokens like a browser, one connection per request, over HTTPS to nginx
  (SNI and Host ``localhost``, the test certificate trusted) or over HTTP straight to one gunicorn (as
  nginx would send it: ``X-Forwarded-Proto: https`` and the public host). Each client can use a
  loopback address of its own (``source``), so per-address limits see separate people.
- ``sign_in``: the staff sign-in steps, in one place (a second factor, when it comes, goes here).
- ``patient_journey``: the adult of tests/web/test_patient.py from the start page to the result; the
  screening's id once it is acknowledged (the 302 to /result, read from the signed session cookie).
- ``Traffic``: several such patients at once for a bounded time, every request recorded.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from screener.web.patient.common import RESULT_KEY
from tests.live.stack import HOST, SERVER_NAME
from tests.web.test_patient import ADULT

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*\bvalue="([^"]+)"')
REQUEST_SECONDS = 15.0


@dataclass(frozen=True)
class Endpoint:
    """Where a client sends its requests: nginx over HTTPS, or one app server directly over HTTP."""

    port: int
    certificate: Path | None  # HTTPS, trusting this certificate; None: plain HTTP to gunicorn
    public_port: int  # the port of nginx's HTTPS, for Host, Referer and X-Forwarded-Host

    @property
    def public_host(self) -> str:
        return f"{SERVER_NAME}:{self.public_port}"

    @property
    def origin(self) -> str:
        return f"https://{self.public_host}"


@dataclass(frozen=True)
class Reply:
    status: int
    location: str
    headers: Message
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Client:
    def __init__(self, endpoint: Endpoint, source: str | None = None, timeout: float = REQUEST_SECONDS) -> None:
        self.endpoint = endpoint
        self.source = source
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.token = ""
        self._tls: ssl.SSLContext | None = None
        if endpoint.certificate is not None:
            self._tls = ssl.create_default_context(cafile=str(endpoint.certificate))

    def connect(self) -> socket.socket:
        source = (self.source, 0) if self.source else None
        raw = socket.create_connection((HOST, self.endpoint.port), timeout=self.timeout, source_address=source)
        if self._tls is None:
            return raw
        try:
            return self._tls.wrap_socket(raw, server_hostname=SERVER_NAME)
        except BaseException:
            raw.close()
            raise

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> Reply:
        body = urlencode({"csrf_token": self.token, **(form or {})}, doseq=True).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        )

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        sent = {"Host": self.endpoint.public_host, "Connection": "close"}
        if self.endpoint.certificate is None:  # straight to gunicorn: what nginx would add
            sent |= {"X-Forwarded-Proto": "https", "X-Forwarded-Host": self.endpoint.public_host}
        if body is not None:
            sent["Content-Length"] = str(len(body))
        if method == "POST":
            sent["Referer"] = f"{self.endpoint.origin}{path}"  # HTTPS: Flask-WTF checks it is our own origin
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        sent |= dict(headers or {})
        started = time.monotonic()
        connection = http.client.HTTPConnection(SERVER_NAME, self.endpoint.port, timeout=self.timeout)
        try:
            connection.sock = self.connect()
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in sent.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            reply = Reply(
                response.status,
                response.getheader("Location") or "",
                response.headers,
                response.read(),
                time.monotonic() - started,
            )
        finally:
            connection.close()
        for line in reply.headers.get_all("Set-Cookie") or []:
            self.remember(line)
        found = CSRF_META.search(reply.text) or CSRF_INPUT.search(reply.text)
        if found:
            self.token = found.group(1)
        return reply

    def remember(self, set_cookie: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(set_cookie)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def session(self, secret_key: str) -> dict[str, Any]:
        """The app's signed session cookie, read with the stack's secret key (empty without one)."""
        from flask import Flask
        from flask.sessions import SecureCookieSessionInterface

        value = next((v for name, v in self.cookies.items() if name.endswith("screener")), None)
        if value is None:
            return {}
        app = Flask("read-session")
        app.secret_key = secret_key
        serializer = SecureCookieSessionInterface().get_signing_serializer(app)
        assert serializer is not None
        data: dict[str, Any] = serializer.loads(value)
        return data


def sign_in(client: Client, username: str, password: str) -> Reply:
    """Staff sign-in through the form, every step of it: the reply to the last one (302 when signed in).

    The one place the live tests sign in over HTTP: when a second factor (TOTP) is added, its step goes here.
    """
    client.get("/staff/login")
    return client.post("/staff/login", {"username": username, "password": password, "next": ""})


# --- A patient's journey ----------------------------------------------------------------------


class Unexpected(Exception):
    """A step answered something else than a person's browser expects."""

    def __init__(self, method: str, path: str, reply: Reply) -> None:
        super().__init__(f"{method} {path} answered {reply.status} {reply.location}".strip())
        self.reply = reply


@dataclass(frozen=True)
class Sent:
    """One request of a traffic run: when (monotonic), how long, and what came back (0: no response)."""

    started: float
    seconds: float
    method: str
    path: str
    status: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400


@dataclass
class Recorder:
    sent: list[Sent] = field(default_factory=list)
    acknowledged: list[tuple[float, int]] = field(default_factory=list)  # (when, screening id) of each 302 to /result
    first_body: dict[int, bytes] = field(default_factory=dict)  # the first body seen for each failing status
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, client: Client, method: str, path: str, form: Mapping[str, Any] | None = None) -> Reply:
        started = time.monotonic()
        try:
            reply = client.post(path, form) if method == "POST" else client.get(path)
        except (OSError, http.client.HTTPException) as error:
            with self.lock:
                self.sent.append(Sent(started, time.monotonic() - started, method, path, 0, type(error).__name__))
            raise
        with self.lock:
            self.sent.append(Sent(started, reply.seconds, method, path, reply.status))
            if reply.status >= 400:
                self.first_body.setdefault(reply.status, reply.body)
        return reply

    @property
    def screening_ids(self) -> list[int]:
        return [screening_id for _, screening_id in self.acknowledged]

    def failures(self) -> list[Sent]:
        return [sent for sent in self.sent if not sent.ok]


def _step(recorder: Recorder, client: Client, method: str, path: str, expected: int, **form: Any) -> Reply:
    reply = recorder.request(client, method, path, form if method == "POST" else None)
    if reply.status != expected:
        raise Unexpected(method, path, reply)
    return reply


def patient_journey(
    client: Client, recorder: Recorder, secret_key: str, keep_going: Callable[[], bool] = lambda: True
) -> int | None:
    """Start page to result as the adult of tests/web/test_patient.py; the screening id once acknowledged.

    None when ``keep_going()`` turned false on the way (the journey is left unfinished).
    """
    _step(recorder, client, "GET", "/", 200)
    _step(recorder, client, "POST", "/start", 302)
    for section, answers in ADULT.items():
        if not keep_going():
            return None
        _step(recorder, client, "GET", f"/questions/{section}", 200)
        _step(recorder, client, "POST", f"/questions/{section}", 302, action="continue", **answers)
    _step(recorder, client, "GET", "/check", 200)
    done = _step(recorder, client, "POST", "/submit", 302)
    if not done.location.endswith("/result"):
        raise Unexpected("POST", "/submit", done)
    screening_id = client.session(secret_key).get(RESULT_KEY)
    assert isinstance(screening_id, int), f"no screening id in the session after /submit: {screening_id!r}"
    with recorder.lock:
        recorder.acknowledged.append((time.monotonic(), screening_id))
    return screening_id


class Traffic:
    """``users`` patients, each on a loopback address of its own, doing journeys until stopped.

    A step that fails (an error status, no response) ends that journey; the person starts again at
    once, in a new session. Bounded: ``stop()`` (or ``seconds``) ends every loop, each request has a
    15 s timeout, and the threads are joined with a deadline.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        sources: list[str],
        secret_key: str,
        seconds: float,
        pause: float = 0.0,
    ) -> None:
        self.recorder = Recorder()
        self.endpoint = endpoint
        self.secret_key = secret_key
        self.deadline = time.monotonic() + seconds
        self.pause = pause
        self._stop = threading.Event()
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._user, args=(source,), daemon=True) for source in sources]

    def keep_going(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self.deadline

    def _user(self, source: str) -> None:
        while self.keep_going():
            client = Client(self.endpoint, source)
            try:
                patient_journey(client, self.recorder, self.secret_key, self.keep_going)
            except (Unexpected, OSError, http.client.HTTPException) as failed:
                with self.recorder.lock:
                    self.errors.append(str(failed) or type(failed).__name__)
                time.sleep(0.05)
            if self.pause:
                time.sleep(self.pause)

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_SECONDS * 2)
        stuck = [thread for thread in self.threads if thread.is_alive()]
        assert not stuck, f"{len(stuck)} traffic threads still running after {REQUEST_SECONDS * 2:g} s"

    def acknowledged_after(self, moment: float) -> int:
        with self.recorder.lock:
            return sum(1 for at, _ in self.recorder.acknowledged if at > moment)

    def until_acknowledged_after(self, moment: float, count: int = 1, seconds: float = 20.0) -> None:
        """Keep going until ``count`` journeys were completed after ``moment`` (at most ``seconds``), then stop."""
        deadline = time.monotonic() + seconds
        while self.acknowledged_after(moment) < count and time.monotonic() < deadline and self.keep_going():
            time.sleep(0.1)
        self.stop()

    def wait(self) -> None:
        """Until the deadline, then stop."""
        remaining = self.deadline - time.monotonic()
        if remaining > 0:
            self._stop.wait(remaining)
        self.stop()
