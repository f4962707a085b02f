"""A short run of ``bench/fuzz.py`` on each backend: hostile input to every endpoint gives no 500.

The full run is two minutes per backend (``.venv/bin/python bench/fuzz.py``); this one takes a few
seconds each, so CI goes over every endpoint and form with hostile values at every run. The seed is
random and printed with any failure (``SCREENER_FUZZ_SEED`` repeats a run).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
from pathlib import Path
from types import ModuleType

import pytest
from argon2 import PasswordHasher


def _bench_fuzz() -> ModuleType:
    """bench/fuzz.py, loaded from its file: the bench folder is not a package, and its queue.py must
    not go on the import path (it would hide the standard library's queue)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("screener_bench_fuzz", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


fuzz = _bench_fuzz().fuzz
SECONDS = float(os.environ.get("SCREENER_FUZZ_SECONDS", "6"))


@pytest.fixture
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in test_access_table.py: sign-ins are fuzzed too, and each would cost half a second."""
    import screener.auth
    import screener.web.auth

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(screener.auth, "_hasher", cheap)
    for module in (screener.auth, screener.web.auth):
        if hasattr(module, "DUMMY_HASH"):
            monkeypatch.setattr(module, "DUMMY_HASH", cheap.hash("dummy"))
    if hasattr(screener.auth, "_recovery_hasher"):
        monkeypatch.setattr(screener.auth, "_recovery_hasher", cheap)


@pytest.mark.usefixtures("cheap_password_hashing")
def test_hostile_input_to_every_endpoint_gives_no_server_error(database_url: str) -> None:
    seed = int(os.environ.get("SCREENER_FUZZ_SEED") or secrets.randbelow(2**31))
    report = fuzz(database_url, seconds=SECONDS, seed=seed, cheap_hashing=False)
    failures = "\n".join(str(failure) for failure in report.failures[:10])
    assert report.failures == [], f"seed {seed}:\n{report.summary()}\n{failures}"
    assert report.requests > 100, report.summary()
    assert report.never_reached == [], f"seed {seed}: {report.summary()}"
