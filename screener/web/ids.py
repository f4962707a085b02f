"""Row ids typed by a visitor (in a path, a query or a form): refused before they reach the database.

PostgreSQL holds an INTEGER id in 32 bits and answers a larger one with an error (a 500), SQLite one
past 64 bits; ``int()`` refuses more than 4,300 digits, and ``str.isdigit`` accepts "²" and "①",
which ``int()`` does not. So every id from outside goes through here.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

from screener.models import MAX_ID

_MAX_DIGITS = len(str(MAX_ID))


class RowIdConverter(IntegerConverter):
    """The app's ``int`` URL converter: at most ``MAX_ID`` unless a route says otherwise.

    Installed as ``int`` (``screener.app``), so every ``<int:...>`` in a path, now and in routes still
    to come, is a row id the database can hold: a larger one, like an unknown one, is "not found"
    (404) without a query, and the route templates (in the request logs) read as before.
    """

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_row_id(text: str | None) -> int | None:
    """A positive id in ASCII digits within the database's range, or None for anything else."""
    text = (text or "").strip()
    if not text or len(text) > _MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
