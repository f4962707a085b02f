"""Request throttling (Flask-Limiter): in memory on one process, Redis with several.

Storage comes from RATELIMIT_STORAGE_URI (``SCREENER_RATELIMIT_STORAGE_URI``); production refuses
``memory://`` unless the app runs as one process (``screener.config``), because each process would
keep its own count and every limit would be multiplied by the number of workers and servers.

When the shared storage fails (Redis stopped, unreachable or stalled: at most half a second per
attempt, no retries), each process falls back to counting in its own memory with the same limits,
and goes back to Redis once it answers again (Flask-Limiter checks after 1, 2, 4 ... 32 s). Patient
pages keep working, and sign-in stays throttled: per account and per address, by each process on
its own, so at worst the limit times the number of worker processes until Redis is back. An error
of the storage never turns into an error page (``swallow_errors``): at worst one attempt goes
uncounted.
"""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

#: Keys in a shared Redis start with this, so the screener can share a Redis with other programs.
KEY_PREFIX = "screener"

#: Limits are declared on the views that need them.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    key_prefix=KEY_PREFIX,
    in_memory_fallback_enabled=True,
    swallow_errors=True,
)
