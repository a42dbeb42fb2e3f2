"""How the app serves the web client (web/views/client.py), in-process: no browser needed."""

from __future__ import annotations

import re

import pytest

from web.views.client import CLIENT_DIR


@pytest.fixture(scope="module")
def client():
    from web import create_app

    return create_app({"RATELIMIT_ENABLED": False}).test_client()


def test_index_at_root_with_a_same_origin_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-cache"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    html = page.get_data(as_text=True)
    # Everything the page loads comes from this app: no CDN, no other origin.
    assert not re.search(r"""(src|href)=["']https?://""", html)
    for asset in re.findall(r"""(?:src|href)=["'](/app/[^"']+)""", html):
        assert client.get(asset).status_code == 200, asset


def test_modules_are_javascript_and_import_only_local_files(client):
    for path in sorted(CLIENT_DIR.glob("*.js")):
        response = client.get(f"/app/{path.name}")
        assert response.status_code == 200 and response.mimetype == "text/javascript"
        for imported in re.findall(r"""from ['"]([^'"]+)['"]""", path.read_text()):
            assert imported.startswith("./") and (CLIENT_DIR / imported).is_file(), imported


def test_vendored_chart_js_with_its_licence(client):
    chart = client.get("/app/vendor/chart.umd.js")
    assert chart.status_code == 200 and b"Chart.js v4.6.1" in chart.data[:200]
    assert (CLIENT_DIR / "vendor" / "chart.js.LICENSE.md").read_text().startswith("The MIT License")


def test_unknown_assets_and_escapes_answer_json_404(client):
    for path in ("/app/nope.js", "/app/../config.py", "/app/%2e%2e/config.py"):
        response = client.get(path)
        assert response.status_code == 404 and response.json["code"] == "not_found", path


def test_health_and_docs_unchanged(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
    assert "/" not in client.get("/api/v1/openapi.json").json["paths"]
