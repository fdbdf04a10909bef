"""/api/docs: the API's Swagger UI, served from our own static files under the site's CSP.

The browser test (the page renders with the network cut) is tests/e2e/test_api_docs.py.
"""

import re

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def docs(page_client):
    response = page_client().get("/api/docs")
    assert response.status_code == 200
    return response


def test_the_docs_page_sends_the_same_csp_as_every_page(docs, page_client):
    """No exemption: /api/docs gets exactly the policy of the login page."""
    assert (
        docs["Content-Security-Policy"] == page_client().get("/login/")["Content-Security-Policy"]
    )
    assert "unsafe-inline" not in docs["Content-Security-Policy"]


def test_the_docs_page_runs_no_inline_script_or_style(docs, parse):
    page = parse(docs)
    for attrs, body in page.script_bodies:
        assert attrs.get("src") or attrs.get("type") == "application/json", body[:80]
    assert not page.find("style")
    for tag, attrs in page.tags:
        assert "style" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)


def test_the_docs_page_loads_its_assets_from_this_site(docs, parse):
    """Swagger UI's script and stylesheet come from /static/ and are served; no CDN."""
    assets = [
        value
        for _tag, attrs in parse(docs).tags
        for name in ("src", "href")
        if (value := attrs.get(name))
    ]
    assert not [a for a in assets if re.match(r"^(https?:)?//", a)]
    scripts = [a for a in assets if a.endswith(".js")]
    assert any("swagger-ui-bundle" in a for a in scripts)
    assert any(a.endswith(".css") for a in assets)
    client = Client()
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()
