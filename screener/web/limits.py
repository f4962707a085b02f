"""Request throttling (Flask-Limiter): in memory on one server, Redis with several."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

#: Limits are declared on the views that need them; storage comes from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
