#!/usr/bin/env python3
"""Render deploy/nginx/screener.conf.in: fill in each @NAME@ placeholder, refuse to leave one empty.

Standard library only, so the system python3 runs it. The production command (deploy/README.md):

    python3 deploy/render.py \\
        --server-name screener.example.org \\
        --upstream 127.0.0.1:8000 \\
        --static-root /opt/screener/venv/lib/python3.11/site-packages/screener/static \\
        --certificate /etc/letsencrypt/live/screener.example.org/fullchain.pem \\
        --certificate-key /etc/letsencrypt/live/screener.example.org/privkey.pem \\
        > /etc/nginx/sites-available/screener

``--upstream`` once per app server. ``--static-root`` is the installed package's ``static``
folder; this prints it: ``/opt/screener/venv/bin/python -c 'import screener.app as a; print(a.PACKAGE_DIR / "static")'``
(the command checks that it holds the screener's CSS and JS). ``--max-body-bytes`` must equal the app's
SCREENER_MAX_CONTENT_LENGTH (default 65536). The live tests (tests/live/) run this command.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "screener.conf.in"
PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
#: What a placeholder value may hold: it lands inside nginx directives, so no ; { } # quotes or newlines.
SAFE_VALUE = re.compile(r"^[\w.:/\[\]-]+$")
DEFAULT_MAX_BODY_BYTES = 65536  # screener.config's MAX_CONTENT_LENGTH default
STATIC_FILES = ("css/screener.css", "js/screener.js")


class RenderError(ValueError):
    """A value is missing or unsafe, or the template has a placeholder nobody filled."""


def https_origin(server_name: str, https_listen: str) -> str:
    """``https://name`` (and ``:port`` unless 443) for the HTTP-to-HTTPS redirect."""
    port = https_listen.rsplit(":", 1)[-1]
    return f"https://{server_name}" if port == "443" else f"https://{server_name}:{port}"


def values(
    *,
    server_names: Sequence[str],
    upstreams: Sequence[str],
    static_root: Path,
    certificate: Path,
    certificate_key: Path,
    https_listen: str = "443",
    http_listen: str = "80",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> dict[str, str]:
    """Every placeholder's value, checked."""
    if not server_names or not upstreams:
        raise RenderError("at least one server name and one upstream are needed")
    missing = [name for name in STATIC_FILES if not (static_root / name).is_file()]
    if missing:
        raise RenderError(f"{static_root} is not the screener's static folder (no {', '.join(missing)})")
    if max_body_bytes <= 0:
        raise RenderError("the body limit must be a positive number of bytes")
    paths = [str(path.resolve()) for path in (static_root, certificate, certificate_key)]
    for given in (*server_names, *upstreams, *paths, https_listen, http_listen):
        if not SAFE_VALUE.match(given):
            raise RenderError(f"unsafe value (spaces, quotes or nginx syntax): {given!r}")
    return {
        "SERVER_NAMES": " ".join(server_names),
        "UPSTREAM_SERVERS": "\n".join(f"    server {address} max_fails=1 fail_timeout=10s;" for address in upstreams),
        "STATIC_ROOT": paths[0],
        "TLS_CERTIFICATE": paths[1],
        "TLS_CERTIFICATE_KEY": paths[2],
        "HTTPS_LISTEN": https_listen,
        "HTTP_LISTEN": http_listen,
        "HTTPS_ORIGIN": https_origin(server_names[0], https_listen),
        "MAX_BODY_BYTES": str(max_body_bytes),
    }


def render(filled: Mapping[str, str], template: Path = TEMPLATE) -> str:
    text = template.read_text(encoding="utf-8")
    unknown = sorted(set(PLACEHOLDER.findall(text)) - set(filled))
    if unknown:
        raise RenderError(f"no value for {', '.join(unknown)}")
    return PLACEHOLDER.sub(lambda found: filled[found.group(1)], text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server-name", action="append", required=True, help="host name (repeat for more)")
    parser.add_argument("--upstream", action="append", required=True, help="host:port of a gunicorn (repeat)")
    parser.add_argument("--static-root", type=Path, required=True, help="the installed package's static folder")
    parser.add_argument("--certificate", type=Path, required=True, help="PEM certificate chain")
    parser.add_argument("--certificate-key", type=Path, required=True, help="PEM private key")
    parser.add_argument("--https-listen", default="443", help="address:port or port (default 443)")
    parser.add_argument("--http-listen", default="80", help="address:port or port (default 80)")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    try:
        filled = values(
            server_names=args.server_name,
            upstreams=args.upstream,
            static_root=args.static_root,
            certificate=args.certificate,
            certificate_key=args.certificate_key,
            https_listen=args.https_listen,
            http_listen=args.http_listen,
            max_body_bytes=args.max_body_bytes,
        )
        sys.stdout.write(render(filled))
    except RenderError as error:
        print(f"deploy/render.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
