"""axe-core (through axe-playwright-python) with the WCAG 2.2 AA rule set, and readable violation reports."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
#: Only violations carry every node; passes and the rest keep one example each (much less to send back).
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
_AXE = Axe()

Violation = dict[str, Any]


def violations(page: Page) -> list[Violation]:
    """The WCAG A/AA violations axe finds on the page as it is now."""
    results = _AXE.run(page, options=OPTIONS)
    found: list[Violation] = list(results.response["violations"])
    return found


def report(where: str, found: list[Violation]) -> str:
    """Each violation's rule id, impact, help and every offending node's HTML, ready for a bug report."""
    lines = [f"{len(found)} axe violation(s) on {where}:"]
    for violation in found:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            target = ", ".join(str(part) for part in node.get("target", []))
            lines.append(f"    at {target}: {node.get('html', '')}")
            summary = str(node.get("failureSummary") or "").strip()
            if summary:
                lines.extend(f"      {line}" for line in summary.splitlines())
    return "\n".join(lines)
