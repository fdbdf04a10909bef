"""Every page: a strict CSP, no inline script or style, CSRF on forms, user text escaped."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.selectors import user_public

pytestmark = pytest.mark.django_db

STATIC = Path(settings.BASE_DIR) / "static"
PAGES_ANONYMOUS = ["/login/", "/signup/", "/no-such-page/"]
PAGES_LOGGED_IN = ["/", "/profile/", "/settings/", "/no-such-page/"]


def pages(page_client, alice):
    for path in PAGES_ANONYMOUS:
        yield path, page_client().get(path)
    client = page_client(alice)
    for path in PAGES_LOGGED_IN:
        yield path, client.get(path)


def test_every_page_sends_a_csp_without_unsafe_inline(page_client, alice):
    for path, response in pages(page_client, alice):
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["style-src"] == "'self'", path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path


def test_no_page_has_inline_script_style_or_event_handlers(page_client, alice, parse):
    for path, response in pages(page_client, alice):
        page = parse(response)
        for attrs, body in page.script_bodies:
            # Only external modules, or JSON data that is never executed.
            assert attrs.get("src") or attrs.get("type") == "application/json", (path, body[:80])
        assert not page.find("style"), path
        for tag, attrs in page.tags:
            assert "style" not in attrs, (path, tag)
            assert not any(name.startswith("on") for name in attrs), (path, tag, attrs)


def test_pages_load_nothing_from_other_sites(page_client, alice, parse):
    for path, response in pages(page_client, alice):
        for _tag, attrs in parse(response).tags:
            for name in ("src", "href"):
                value = attrs.get(name) or ""
                assert not re.match(r"^(https?:)?//", value), (path, value)


def test_every_form_that_posts_carries_a_csrf_token(page_client, alice, parse):
    for path, response in pages(page_client, alice):
        page = parse(response)
        posts = [a for t, a in page.tags if t == "form" and (a.get("method") or "") == "post"]
        tokens = page.find("input", name="csrfmiddlewaretoken")
        assert len(tokens) == len(posts), path


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login/", {"email": "alice@example.com", "password": "correct-horse-42"}),
        ("/signup/", {"full_name": "Eve", "email": "eve@example.com", "password": "secret1"}),
        ("/logout/", {}),
        ("/settings/", {"theme": "dark"}),
        ("/profile/", {"full_name": "Hacked"}),
    ],
)
def test_forms_without_the_csrf_token_are_refused(alice, path, data):
    from accounts.tokens import token_issue

    client = Client(enforce_csrf_checks=True)
    client.cookies["jwt"] = token_issue(alice)
    response = client.post(path, data)
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.theme == "light" and alice.full_name == "Alice Martin"


def test_user_text_in_pages_is_escaped(page_client, make_user, parse):
    attack = "<img src=x onerror=alert(1)>"
    user = make_user(full_name=attack)
    for path in ("/", "/profile/", "/settings/"):
        response = page_client(user).get(path)
        html = response.content.decode()
        assert attack not in html
        assert not parse(response).find("img", src="x")


def test_the_chat_page_hands_its_script_the_user_as_json_data(page_client, alice, parse):
    response = page_client(alice).get("/")
    page = parse(response)
    [(attrs, body)] = [(a, b) for a, b in page.script_bodies if a.get("id") == "boot-data"]
    assert attrs["type"] == "application/json"
    boot = json.loads(body)
    assert boot["me"] == json.loads(json.dumps(user_public(alice, online=True)))
    assert "password" not in body
    assert boot["imageMaxBytes"] == settings.IMAGE_MAX_BYTES
    assert boot["defaultAvatar"].endswith("img/avatar.svg")
    assert page.find("script", type="module", src="/static/js/chat.js")


def test_the_chat_page_is_labelled_for_assistive_technology(page_client, alice, parse):
    page = parse(page_client(alice).get("/"))
    assert page.find("div", id="announcer")[0]["aria-live"] == "polite"
    labels = {a["for"] for a in page.find("label") if a.get("for")}
    assert {"chat-search", "message-input", "image-input"} <= labels
    assert page.find("a", class_="skip-link")


def test_the_scripts_never_write_html(tmp_path):
    """User text reaches the page through textContent only: no HTML-writing API is used."""
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function"
    )
    scripts = sorted((STATIC / "js").glob("*.js"))
    assert scripts
    for script in scripts:
        assert not forbidden.search(script.read_text()), script.name


def test_the_scripts_import_only_modules_that_exist():
    for script in (STATIC / "js").glob("*.js"):
        for target in re.findall(r'from "(\./[^"]+)"', script.read_text()):
            assert (script.parent / target).is_file(), (script.name, target)


def test_static_assets_the_pages_use_exist(page_client, alice, parse):
    for path, response in pages(page_client, alice):
        for _tag, attrs in parse(response).tags:
            for name in ("src", "href"):
                value = attrs.get(name) or ""
                if value.startswith(settings.STATIC_URL):
                    assert (STATIC / value.removeprefix(settings.STATIC_URL)).is_file(), (
                        path,
                        value,
                    )


def test_the_error_page_is_the_sites_own(page_client, parse):
    response = page_client().get("/no-such-page/")
    assert response.status_code == 404
    page = parse(response)
    assert "404" in page.text and "Back to Parley" in page.text
    assert page.find("link", rel="stylesheet")


def test_csrf_refusal_page_explains_and_needs_no_inline_style(alice):
    """A refused form shows Parley's own page (CSP-safe), telling the person to retry."""
    from accounts.tokens import token_issue

    client = Client(enforce_csrf_checks=True)
    client.cookies["jwt"] = token_issue(alice)
    response = client.post("/settings/", {"theme": "dark"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Please retry" in html
    assert "<style" not in html and "style=" not in html
