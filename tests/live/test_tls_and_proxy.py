"""The shipped nginx site (deploy/nginx/screener.conf.in) as clients meet it: TLS, headers, static files.

S-15, S-16 and S-26 of the security checks, on the running stack: TLS 1.2 and 1.3 only, HSTS on every
response, no version in ``Server``, the forwarded headers set by nginx alone, the body cap, static files
served by nginx with long cache lifetimes and gzip.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from screener.db import Database
from screener.models import AuditEvent
from tests.live.client import Client, Endpoint
from tests.live.conftest import create_staff, new_client
from tests.live.stack import HOST, SERVER_NAME, Nginx, Stack, static_root

HSTS = "max-age=31536000; includeSubDomains"


def one(reply_headers: object, name: str) -> str:
    values = getattr(reply_headers, "get_all")(name) or []  # noqa: B009 (Message.get_all)
    assert len(values) == 1, f"{name}: expected exactly one, got {values!r}"
    return str(values[0])


def test_patient_pages_come_from_the_app_with_hsts_once_and_no_server_version(stack: Stack) -> None:
    reply = new_client(stack).get("/")
    assert reply.status == 200
    assert one(reply.headers, "Strict-Transport-Security") == HSTS
    assert one(reply.headers, "Server") == "nginx"  # server_tokens off: no version
    assert "frame-ancestors 'none'" in one(reply.headers, "Content-Security-Policy")  # the app's own headers
    assert one(reply.headers, "Cache-Control") == "no-store"


def test_static_files_are_served_by_nginx_cached_and_compressed(stack: Stack) -> None:
    client = new_client(stack)
    for path in ("/static/css/screener.css", "/static/js/screener.js"):
        on_disk = (static_root() / path.removeprefix("/static/")).read_bytes()
        plain = client.get(path)
        assert plain.status == 200
        assert plain.body == on_disk
        assert "Content-Security-Policy" not in plain.headers, "the app answered: nginx should serve static files"
        assert one(plain.headers, "Cache-Control") == "public, max-age=86400, stale-while-revalidate=604800"
        assert one(plain.headers, "X-Content-Type-Options") == "nosniff"
        assert one(plain.headers, "Strict-Transport-Security") == HSTS
        etag = one(plain.headers, "ETag")
        unchanged = client.get(path, {"If-None-Match": etag})
        assert unchanged.status == 304
        packed = client.get(path, {"Accept-Encoding": "gzip"})
        assert one(packed.headers, "Content-Encoding") == "gzip"
        assert gzip.decompress(packed.body) == on_disk
        versioned = client.get(f"{path}?v=1a2b3c")
        assert one(versioned.headers, "Cache-Control") == "public, max-age=31536000, immutable"
    refused = client.post("/static/css/screener.css")
    assert refused.status == 403
    assert client.get("/static/../screener/app.py").status in (400, 404)


def test_patient_pages_are_compressed_and_staff_pages_are_not(stack: Stack) -> None:
    """Staff pages echo query parameters beside a CSRF token and patient data: no compression (BREACH)."""
    client = new_client(stack)
    patient = client.get("/about-isotretinoin", {"Accept-Encoding": "gzip"})
    assert patient.status == 200
    assert one(patient.headers, "Content-Encoding") == "gzip"
    staff = client.get("/staff/login", {"Accept-Encoding": "gzip"})
    assert staff.status == 200
    assert "Content-Encoding" not in staff.headers


def test_plain_http_is_only_a_redirect_to_https(stack: Stack) -> None:
    connection = http.client.HTTPConnection(HOST, stack.nginx.http_port, timeout=5)
    try:
        connection.request("GET", "/questions/A?x=1", headers={"Host": f"{SERVER_NAME}:{stack.nginx.http_port}"})
        response = connection.getresponse()
        assert response.status == 301
        assert response.getheader("Location") == f"{stack.origin}/questions/A?x=1"
    finally:
        connection.close()


def handshake(port: int, context: ssl.SSLContext, server_name: str = SERVER_NAME) -> str:
    """The TLS version nginx agrees to, or ssl.SSLError."""
    with (
        socket.create_connection((HOST, port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        return str(tls.version())


def client_context(stack: Stack, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(stack.certificate.certificate))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 and 1.1 are deprecated: that is the point
        if version < ssl.TLSVersion.TLSv1_2:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")  # so that this client can offer the old versions at all
        context.minimum_version = version
        context.maximum_version = version
    return context


def old_tls_server(stack: Stack, version: ssl.TLSVersion) -> tuple[int, threading.Thread]:
    """A server that speaks only ``version`` for one handshake: proof that the client really offers it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(stack.certificate.certificate), str(stack.certificate.key))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = version
        context.maximum_version = version
    listener = socket.create_server((HOST, 0))
    listener.settimeout(5)

    def serve() -> None:
        with listener, suppress(OSError):
            connection, _ = listener.accept()
            with connection, context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def test_only_tls_1_2_and_1_3_are_spoken(stack: Stack) -> None:
    port = stack.nginx.https_port
    assert handshake(port, client_context(stack, ssl.TLSVersion.TLSv1_2)) == "TLSv1.2"
    assert handshake(port, client_context(stack, ssl.TLSVersion.TLSv1_3)) == "TLSv1.3"
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        control, thread = old_tls_server(stack, old)
        assert handshake(control, client_context(stack, old)) == old.name.replace("_", "."), (
            "the client cannot offer it"
        )
        thread.join(timeout=5)
        with pytest.raises(ssl.SSLError):
            handshake(port, client_context(stack, old))


def test_an_unknown_host_name_gets_no_answer(stack: Stack) -> None:
    context = ssl.create_default_context(cafile=str(stack.certificate.certificate))
    context.check_hostname = False
    with pytest.raises(ssl.SSLError):
        handshake(stack.nginx.https_port, context, "evil.example")
    connection = http.client.HTTPConnection(HOST, stack.nginx.http_port, timeout=5)
    try:
        connection.request("GET", "/", headers={"Host": "evil.example"})
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            connection.getresponse()  # 444: nginx closes the connection without a word
    finally:
        connection.close()


def test_nginx_caps_request_bodies_at_the_apps_limit(stack: Stack) -> None:
    limit = int(stack.environment.get("SCREENER_MAX_CONTENT_LENGTH") or 65536)
    client = new_client(stack)

    def body_of(size: int) -> bytes:
        document = {"answers": {"completed_by": "self", "age_years": 22}, "padding": ""}
        document["padding"] = "x" * (size - len(json.dumps(document).encode()))
        encoded = json.dumps(document).encode()
        assert len(encoded) == size
        return encoded

    headers = {"Content-Type": "application/json"}
    at_limit = client.request("POST", "/api/v1/evaluate", body_of(limit), headers)
    assert at_limit.status == 200, at_limit.text[:300]
    over = client.request("POST", "/api/v1/evaluate", body_of(limit + 1), headers)
    assert over.status == 413
    assert "Content-Security-Policy" not in over.headers  # nginx refused it: the app never saw it
    assert one(over.headers, "Strict-Transport-Security") == HSTS


# --- The forwarded headers ----------------------------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo_nginx(stack: Stack, tmp_path: Path) -> Iterator[Nginx]:
    """The same site, rendered with one upstream that answers with the request headers it received."""
    server = ThreadingHTTPServer((HOST, 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    nginx = Nginx(tmp_path / "nginx", [f"{HOST}:{server.server_address[1]}"], stack.certificate, 65536)
    try:
        nginx.start()
        yield nginx
    finally:
        nginx.stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_nginx_replaces_the_forwarded_headers_a_client_sends(stack: Stack, echo_nginx: Nginx) -> None:
    endpoint = Endpoint(echo_nginx.https_port, stack.certificate.certificate, echo_nginx.https_port)
    source = stack.next_address()
    reply = Client(endpoint, source).get(
        "/anything",
        {
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "http",
            "X-Forwarded-Port": "8080",
            "X-Forwarded-Prefix": "/evil",
            "X-Real-IP": "203.0.113.8",
            "Forwarded": "for=203.0.113.9;host=evil.example;proto=http",
            "X-Request-ID": "chosen-by-the-client",
        },
    )
    assert reply.status == 200
    seen = json.loads(reply.body)
    assert seen["x-forwarded-for"] == source
    assert seen["x-real-ip"] == source
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-host"] == endpoint.public_host
    assert seen["host"] == endpoint.public_host
    assert re.fullmatch(r"[0-9a-f]{32}", seen["x-request-id"]), seen["x-request-id"]  # nginx's $request_id
    for dropped in ("x-forwarded-port", "x-forwarded-prefix", "forwarded"):
        assert dropped not in seen, f"{dropped} reached the app: {seen[dropped]!r}"


def test_the_app_records_the_address_nginx_saw_not_the_one_a_client_claims(stack: Stack) -> None:
    account = create_staff(stack)
    client = new_client(stack)
    client.get("/staff/login")
    reply = client.post(
        "/staff/login",
        {"username": account.username, "password": "not the password at all"},
        {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "evil.example"},
    )
    assert reply.status == 400  # the generic sign-in error: the CSRF check passed for our own host
    database = Database(stack.database_url)
    try:
        with database.read() as session:
            addresses = set(session.scalars(select(AuditEvent.remote_addr).where(AuditEvent.action == "login")))
    finally:
        database.dispose()
    assert client.source in addresses
    assert "203.0.113.7" not in addresses
