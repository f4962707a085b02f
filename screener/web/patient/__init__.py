"""The patient's self-screening journey: start, question pages, check answers, result.

No account: an in-progress response (a draft) is tied to this browser by a random token in
the session cookie and saved on the server after every page, so a closed browser loses
nothing. Enable rules run here on the server, so every page works without JavaScript.
"""

from . import contact, finish, pages
from .common import bp

__all__ = ["bp", "contact", "finish", "pages"]
