"""``screener ruleset impact``, as a real subprocess on each test database (SQLite, PostgreSQL)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from screener.db import Database
from tests.store.test_impact import OLD_VERSION, fingerprint, seed

SCREENER = str(Path(sys.executable).with_name("screener"))


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCREENER_DATABASE_URL": url}
    return subprocess.run(
        [SCREENER, "ruleset", "impact", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_text_report_with_csv(database: Database, database_url: str, tmp_path: Path) -> None:
    seeded = seed(database)
    with database.read() as session:
        before = fingerprint(session)
    path = tmp_path / "affected.csv"

    result = run(database_url, "--csv", str(path))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # piped: no progress bar
    out = result.stdout
    assert "Screenings: 4  replayed: 3  affected: 1  could not be replayed: 1" in out
    assert f"{OLD_VERSION} (sha256:" in out
    assert "W-OLD" in out
    assert "Warnings removed:" in out
    assert seeded.changed in out
    assert seeded.rejected in out
    assert seeded.unchanged not in out
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["reference_code"]: row["status"] for row in rows} == {
        seeded.changed: "changed",
        seeded.rejected: "could not be replayed",
    }
    with database.read() as session:
        assert fingerprint(session) == before


def test_json_report_with_dates(database: Database, database_url: str) -> None:
    seeded = seed(database)
    result = run(database_url, "--json", "--from", "2026-10-01", "--to", "2026-11-28")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["screenings"], report["affected"], report["could_not_be_replayed"]) == (2, 1, 0)
    assert (report["date_from"], report["date_to"]) == ("2026-10-01", "2026-11-28")
    assert report["warnings_removed"] == {"W-OLD": 1}
    assert [item["reference_code"] for item in report["affected_screenings"]] == [seeded.changed]


def test_an_invalid_date_is_refused(database_url: str) -> None:
    result = run(database_url, "--from", "29/11/2026")
    assert result.returncode == 2
    assert "--from" in result.stderr
