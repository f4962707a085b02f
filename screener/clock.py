"""The one place that reads the wall clock, so that tests can move time (time-machine)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time as an aware UTC datetime; stored timestamps are always UTC."""
    return datetime.now(UTC)
