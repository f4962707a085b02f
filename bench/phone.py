"""The adult journey on a 390×844 phone: page loads and scroll height, before and after a change.

Usage::

    .venv/bin/python bench/phone.py                     # this checkout, JavaScript on and off
    .venv/bin/python bench/phone.py --before REV        # also a git revision, in a temporary worktree

For each checkout it starts the app with gunicorn on a free port of 127.0.0.1 (a fresh SQLite file,
``screener db upgrade``), then drives Debian's Chromium (``SCREENER_CHROMIUM``) through one journey
that opens follow-up questions: an adult who could get pregnant (five follow-ups on page B) with a
positive PHQ-2 (six more items on page E). It counts every page load of the main frame and adds up
the scroll height of every page shown (what a thumb scrolls through), and reports whether "Start now"
is on the first screen. Answers are chosen by input name and value, so any version can be driven.
No network access; timings are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
PHONE: ViewportSize = {"width": 390, "height": 844}
#: (page, answers): choices by input name; several values tick several boxes; text fields are typed.
JOURNEY: list[tuple[str, dict[str, str | list[str]]]] = [
    ("A", {"completed_by": "self", "age_years": "24"}),
    (
        "B",
        {
            "can_get_pregnant": "yes",
            "breastfeeding": "no",
            "pregnant_now": "no",
            "planning_pregnancy_6mo": "no",
            "contraception_methods": ["iud"],
            "willing_pregnancy_prevention": "yes",
        },
    ),
    ("C", {"self_severity": "severe", "nodules": "three_or_more", "scarring": "some"}),
    ("D", {"oral_abx": "finished_not_helped", "completed_courses": "one"}),
    (
        "E",
        {"phq9_q1": "2", "phq9_q2": "1", "phq9_q9": "0"}
        | {f"phq9_q{n}": "0" for n in range(3, 9)}
        | {"mh_history": ["none"]},
    ),
    ("F", {"allergies": ["none"]}),
    ("G", {}),
    ("H", {}),
]


@dataclass
class Journey:
    label: str
    javascript: bool
    page_loads: int
    scroll_height_px: int
    start_on_first_screen: bool
    reached_result: bool


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(source: Path) -> Iterator[str]:
    """gunicorn with the app of ``source`` (its package first on the path) on a fresh database."""
    with tempfile.TemporaryDirectory() as folder:
        env = os.environ | {
            "PYTHONPATH": str(source),
            "SCREENER_DATABASE_URL": f"sqlite:///{folder}/phone.db",
            "SCREENER_SECRET_KEY": secrets.token_urlsafe(30),
        }
        bin_dir = Path(sys.executable).parent
        subprocess.run([bin_dir / "screener", "db", "upgrade"], env=env, cwd=source, check=True, capture_output=True)
        port = _free_port()
        command: list[str | Path] = [
            bin_dir / "gunicorn",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "screener.app:create_app()",
        ]
        process = subprocess.Popen(command, env=env, cwd=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310 - our own loopback server
                        break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise SystemExit(f"the app in {source} did not start") from None
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def _answer(page: Page, answers: dict[str, str | list[str]]) -> None:
    """Answer what is on the page now, in catalogue order; follow-ups may appear as we go."""
    for name, value in answers.items():
        for one in value if isinstance(value, list) else [value]:
            choice = page.locator(f'input[name="{name}"][value="{one}"]')
            if choice.count():
                choice.check()
                page.wait_for_load_state("networkidle")  # a follow-up request, with JavaScript on
                continue
            field = page.locator(f'input[name="{name}"][type="text"]')
            if field.count():
                field.fill(one)


def run_journey(url: str, label: str, *, javascript: bool, chromium: str) -> Journey:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=javascript)
        page = context.new_page()
        loads = 0
        heights: list[int] = []

        def loaded() -> None:
            nonlocal loads
            loads += 1
            heights.append(int(page.evaluate("document.documentElement.scrollHeight")))

        def loaded_listener(_page: Page) -> None:
            loaded()

        page.on("load", loaded_listener)
        page.goto(url)
        start = page.get_by_role("button", name="Start now")
        box = start.bounding_box()
        first_screen = box is not None and box["y"] + box["height"] <= PHONE["height"]
        start.click()
        for section, answers in JOURNEY:
            for _attempt in range(3):  # the same page may come back with follow-ups (no JavaScript)
                if f"/questions/{section}" not in page.url:
                    break
                _answer(page, answers)
                page.get_by_role("button", name="Continue").click()
                page.wait_for_load_state("load")
        page.get_by_role("button", name="Send my answers").click()
        page.wait_for_load_state("load")
        reached = "/result" in page.url
        page.remove_listener("load", loaded_listener)
        browser.close()
    return Journey(label, javascript, loads, sum(heights), first_screen, reached)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git revision to measure too, in a temporary worktree")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chromium = os.environ.get("SCREENER_CHROMIUM", "/usr/bin/chromium")
    checkouts = [("after", ROOT)]
    with tempfile.TemporaryDirectory() as folder:
        if args.before:
            before = Path(folder) / "before"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), args.before], check=True
            )
            checkouts.insert(0, (f"before ({args.before})", before))
        try:
            results = []
            for label, source in checkouts:
                with serve(source) as url:
                    for javascript in (True, False):
                        results.append(run_journey(url, label, javascript=javascript, chromium=chromium))
        finally:
            if args.before:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=False)
    if args.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
        return 0
    print(f"{'checkout':<28} {'JS':<4} {'page loads':>10} {'scroll px':>10} {'Start on screen 1':>18} result")
    for r in results:
        print(
            f"{r.label:<28} {'on' if r.javascript else 'off':<4} {r.page_loads:>10} {r.scroll_height_px:>10} "
            f"{'yes' if r.start_on_first_screen else 'no':>18} {'reached' if r.reached_result else 'NOT REACHED'}"
        )
    return 0 if all(r.reached_result for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
