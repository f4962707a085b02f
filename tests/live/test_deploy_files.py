"""The files in deploy/ agree with the app, and the rendering step refuses what nginx would misread."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from screener import config
from tests.live.conftest import skip_or_fail
from tests.live.stack import DEPLOY, Certificate, Unavailable, make_certificate, render_site, require_tools, static_root

DEBIAN_NGINX_CONF = Path("/etc/nginx/nginx.conf")


def render_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_render", DEPLOY / "render.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_environment_template_lists_every_setting_and_no_other() -> None:
    template = (DEPLOY / "screener.env.example").read_text()
    named = set(re.findall(r"^#?SCREENER_([A-Z0-9_]+)=", template, re.MULTILINE))
    assert named == {setting.name for setting in config.SETTINGS}
    assert re.search(r"^SCREENER_ENV=production$", template, re.MULTILINE)
    keys = re.findall(r"^SCREENER_(\w+_KEY)=(.*)$", template, re.MULTILINE)
    assert "SECRET_KEY" in dict(keys)
    assert all(value == "" for _, value in keys), f"the template must hold no secret: {keys}"
    assert re.search(r"^SCREENER_PROXY_COUNT=1$", template, re.MULTILINE)
    assert re.search(r"^SCREENER_RATELIMIT_STORAGE_URI=redis://", template, re.MULTILINE)


def test_nginx_caps_bodies_where_the_app_does() -> None:
    app_cap = config.SETTINGS_BY_NAME["MAX_CONTENT_LENGTH"].default
    assert app_cap == render_module().DEFAULT_MAX_BODY_BYTES


def test_the_units_run_the_shipped_settings() -> None:
    systemd = DEPLOY / "systemd"
    app = (systemd / "screener.service").read_text()
    assert "ExecStart=/opt/screener/venv/bin/gunicorn --config /etc/screener/gunicorn.conf.py" in app
    assert "ExecReload=/bin/kill -s HUP $MAINPID" in app
    assert "EnvironmentFile=/etc/screener/screener.env" in app
    purge = (systemd / "screener-purge.service").read_text()
    assert "ExecStart=/opt/screener/venv/bin/screener db purge" in purge
    timer = (systemd / "screener-purge.timer").read_text()
    assert re.search(r"^OnCalendar=\*-\*-\* \d\d:\d\d:00$", timer, re.MULTILINE)  # daily
    assert "Unit=screener-purge.service" in timer


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    try:
        return make_certificate(tmp_path)
    except FileNotFoundError:
        skip_or_fail("openssl is not installed")


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("upstreams", ["127.0.0.1:8000; return 200"], "unsafe value"),
        ("server_names", ["good.example bad.example"], "unsafe value"),
        ("server_names", ["x.example;"], "unsafe value"),
        ("static_root", Path("/tmp"), "is not the screener's static folder"),  # noqa: S108
    ],
)
def test_rendering_refuses_values_nginx_would_misread(
    option: str, value: object, problem: str, certificate: Certificate
) -> None:
    render = render_module()
    options: dict[str, object] = {
        "server_names": ["screener.example.org"],
        "upstreams": ["127.0.0.1:8000"],
        "static_root": static_root(),
        "certificate": certificate.certificate,
        "certificate_key": certificate.key,
    }
    options[option] = value
    with pytest.raises(render.RenderError, match=problem):
        render.values(**options)


def test_rendering_leaves_no_placeholder(certificate: Certificate, tmp_path: Path) -> None:
    site = render_site(
        tmp_path / "site.conf",
        upstreams=["127.0.0.1:8000", "10.0.0.2:8000"],
        certificate=certificate,
        https_port=443,
        http_port=80,
        max_body_bytes=65536,
    )
    text = site.read_text()
    assert not re.search(r"@[A-Z_]+@", text)
    assert "    server 10.0.0.2:8000 max_fails=1 fail_timeout=10s;" in text
    assert "return 301 https://localhost$request_uri;" in text  # no :443 in the redirect
    assert "client_max_body_size 65536;" in text


def test_the_site_loads_in_debians_own_nginx_conf(certificate: Certificate, tmp_path: Path) -> None:
    """Debian's nginx.conf with the site in place of sites-enabled: ``nginx -t`` accepts it (no duplicates)."""
    if not DEBIAN_NGINX_CONF.is_file() or os.geteuid() != 0:
        skip_or_fail("needs Debian's /etc/nginx/nginx.conf and root (nginx -t opens its log files)")
    try:
        nginx = require_tools("nginx", why="nginx -t")["nginx"]
    except Unavailable as missing:
        skip_or_fail(str(missing))
    site = render_site(
        tmp_path / "screener.conf",
        upstreams=["127.0.0.1:8000"],
        certificate=certificate,
        https_port=443,
        http_port=80,
        max_body_bytes=65536,
    )
    debian = DEBIAN_NGINX_CONF.read_text()
    assert "include /etc/nginx/sites-enabled/*;" in debian
    main = tmp_path / "nginx.conf"
    main.write_text(
        debian.replace("include /etc/nginx/sites-enabled/*;", f"include {site};").replace(
            "pid /run/nginx.pid;", f"pid {tmp_path / 'nginx.pid'};"
        )
    )
    checked = subprocess.run([nginx, "-t", "-c", str(main)], capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
