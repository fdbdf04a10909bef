"""/api/docs in a real browser with no internet: Swagger UI comes from the app's own files."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Route, expect

from tests.e2e.conftest import DESKTOP, _watch
from tests.servers import DaphneServer

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_the_api_docs_render_offline_under_the_sites_csp(
    chromium: Browser, server: DaphneServer, tmp_path: Path
):
    """Every request outside the app is cut; the operations still list, and no CSP violation."""
    context = chromium.new_context(viewport=DESKTOP, locale="en-US")
    outside: list[str] = []

    def only_the_app(route: Route) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_app)
    page = context.new_page()
    errors: list[str] = []
    _watch(page, errors, "docs")
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console.append(message.text)

    page.on("console", on_console)
    try:
        response = page.goto(server.url + "/api/docs")
        assert response is not None and response.ok
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Parley API")
        login = page.locator(".opblock-summary", has_text="/api/auth/login")
        expect(login).to_be_visible()
        expect(login).to_contain_text("Log in with email and password")
        # Opening an operation shows its documented error answers.
        login.click()
        expect(page.locator(".opblock-body .responses-table")).to_contain_text("429")
        page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=True)
    finally:
        context.close()
    assert outside == []
    assert errors == []
    assert console == []
