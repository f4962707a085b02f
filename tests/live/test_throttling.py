"""Sign-in throttling on the live stack: one count for both app servers (Redis), and nginx's flood limit.

The per-account limit is 5 failed attempts a minute (screener/web/auth.py). With ``memory://`` each of
the four workers kept its own count, so an attacker had 20; with Redis the sixth attempt is refused
whichever server it reaches.
"""

from __future__ import annotations

import time

from tests.live.client import Client, Reply, sign_in
from tests.live.conftest import PASSWORD, create_staff, new_client, straight_to
from tests.live.stack import Stack

PER_ACCOUNT = 5
WRONG = "not the right password, clearly"


def attempt(stack: Stack, client: Client, username: str, password: str = WRONG) -> Reply:
    return sign_in(client, username, password)


def test_the_per_account_limit_holds_across_both_app_servers(stack: Stack) -> None:
    account = create_staff(stack)
    first, second = stack.servers
    statuses = []
    for number in range(PER_ACCOUNT + 3):
        server = (first, second)[number % 2]  # alternately, straight to each server
        client = Client(straight_to(stack, server), stack.next_address())  # a new address each time
        statuses.append((server.name, attempt(stack, client, account.username).status))
    assert [status for _, status in statuses] == [400] * PER_ACCOUNT + [429] * 3, statuses
    assert {name for name, status in statuses if status == 429} == {first.name, second.name}
    # Throttled before the password is even checked: the right one is refused too, on either server.
    for server in (first, second):
        right = attempt(stack, Client(straight_to(stack, server), stack.next_address()), account.username, PASSWORD)
        assert right.status == 429, f"{server.name} let the right password through while throttled"
    assert stack.redis.keys(f"*{account.username}*"), "the count is not in the shared Redis"


def test_the_per_account_limit_holds_through_nginx(stack: Stack) -> None:
    account = create_staff(stack)
    statuses = [attempt(stack, new_client(stack), account.username).status for _ in range(PER_ACCOUNT + 3)]
    assert statuses == [400] * PER_ACCOUNT + [429] * 3


def test_a_sign_in_flood_from_one_address_is_refused_by_nginx_and_patients_are_served(stack: Stack) -> None:
    flooder = new_client(stack)
    flooder.get("/staff/login")  # a real CSRF token: the flood reaches the password check if let through
    started = time.monotonic()
    replies = [flooder.post("/staff/login", {"username": f"nobody{n}", "password": WRONG}) for n in range(30)]
    elapsed = time.monotonic() - started
    from_nginx = [reply for reply in replies if reply.status == 429 and "Content-Security-Policy" not in reply.headers]
    reached_app = [reply for reply in replies if "Content-Security-Policy" in reply.headers]
    # nginx: a burst of 10, then one every 2 s (30 a minute) per address.
    allowed = 10 + 1 + int(elapsed / 2)
    assert len(reached_app) <= allowed, f"{len(reached_app)} reached the app in {elapsed:.1f} s"
    assert len(from_nginx) == len(replies) - len(reached_app)
    assert len(from_nginx) >= 10
    patient = new_client(stack).get("/")
    assert patient.status == 200
    # The limit is nginx's, per address and for POST only: the sign-in page still opens.
    assert flooder.get("/staff/login").status == 200
