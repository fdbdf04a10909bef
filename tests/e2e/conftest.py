"""Browser fixtures: a real Daphne per test, Debian's Chromium driven by Playwright's sync API.

Playwright is driven directly (not through pytest-playwright's session fixtures) so the browser
is closed when this package's tests end and never overlaps the asyncio tests that follow.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from tests.servers import ROOT, DaphneServer, daphne_env

ARTIFACTS = Path(__file__).parent / "artifacts"
WS_URL = re.compile(r"/ws/(\?.*)?$")  # the chat socket, whatever its query string
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
PASSWORD = "correct-horse-42"
TRACE = os.environ.get("E2E_TRACE") == "1"

# Two cores shared with other test runs: give the app time, never sleep.
expect.set_options(timeout=15_000)


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


@pytest.fixture(scope="package")
def app_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Collected static files (hashed, as in production) and a migrated database to copy."""
    base = tmp_path_factory.mktemp("e2e-app")
    env = daphne_env(base, STATIC_ROOT=str(base / "static"), STATIC_MANIFEST="1")
    _manage(env, "collectstatic", "--noinput", "-v", "0")
    _manage(env, "migrate", "--noinput", "-v", "0")
    return {"static": base / "static", "db": base / "db.sqlite3"}


@pytest.fixture
def server(tmp_path: Path, app_files: dict[str, Path]) -> Iterator[DaphneServer]:
    """The app in production mode (DEBUG off, manifest static files) on a free port."""
    shutil.copy(app_files["db"], tmp_path / "db.sqlite3")
    env = daphne_env(
        tmp_path,
        STATIC_ROOT=str(app_files["static"]),
        STATIC_MANIFEST="1",
        MESSAGE_RATE_PER_USER="100000",
    )
    with DaphneServer(env) as daphne:
        yield daphne


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()


@dataclass
class Person:
    """One person in their own browser context (own cookies), with one or more tabs."""

    name: str
    email: str
    context: BrowserContext
    page: Page
    base_url: str
    shoot: Callable[[Page, str], None]
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str, page: Page | None = None) -> None:
        (page or self.page).goto(self.base_url + path)

    def signup(self) -> None:
        """Create the account through the HTML form, like a new visitor."""
        self.goto("/signup/")
        page = self.page
        page.get_by_label("Full name").fill(self.name)
        page.get_by_label("Email").fill(self.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign up").click()
        expect(page).to_have_url(self.base_url + "/")
        expect(page.locator("#chat-list")).to_have_attribute("aria-busy", "false")

    def new_tab(self) -> Page:
        page = self.context.new_page()
        _watch(page, self.errors, f"{self.name} tab")
        return page

    # The chat page, in words a person would use.
    def row(self, name: str, page: Page | None = None) -> Locator:
        """The sidebar's row of the chat called `name` (a person's or a group's)."""
        page = page or self.page
        title = page.locator(".chat-item__name", has_text=re.compile(f"^{re.escape(name)}$"))
        return page.locator(".chat-item").filter(has=title)

    def open_chat(self, name: str, page: Page | None = None) -> None:
        """Open the chat with `name` from the sidebar, or start it with "New chat"."""
        page = page or self.page
        expect(page.locator("#chat-list")).to_have_attribute("aria-busy", "false")
        if self.row(name, page).count():
            self.row(name, page).get_by_role("button").click()
        else:
            page.get_by_role("button", name="New chat").click()
            dialog = page.get_by_role("dialog", name="New chat")
            dialog.get_by_role("searchbox", name="Search people").fill(name)
            dialog.get_by_role("button", name=name).click()
        expect(page.locator("#pane-title")).to_have_text(name)

    def create_group(self, title: str, members: list[str], page: Page | None = None) -> None:
        """Make a group with "New group": a name, then each person searched and ticked."""
        page = page or self.page
        page.get_by_role("button", name="New group").click()
        dialog = page.get_by_role("dialog", name="New group")
        dialog.get_by_label("Group name").fill(title)
        search = dialog.get_by_role("searchbox", name="Search people to add")
        for name in members:
            search.fill(name)
            dialog.get_by_role("checkbox", name=name).check()
        dialog.get_by_role("button", name="Create group").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#pane-title")).to_have_text(title)

    def details(self, page: Page | None = None) -> Locator:
        """Open the group's details panel."""
        page = page or self.page
        page.get_by_role("button", name="Group details").click()
        dialog = page.get_by_role("dialog", name="Group details")
        expect(dialog).to_be_visible()
        return dialog

    def send(self, text: str, page: Page | None = None) -> None:
        page = page or self.page
        box = page.get_by_role("textbox", name="Message")
        box.fill(text)
        box.press("Enter")
        expect(box).to_have_value("")

    def bubbles(self, page: Page | None = None) -> Locator:
        return (page or self.page).locator("#message-list .message")

    def bubble(self, text: str, page: Page | None = None) -> Locator:
        return self.bubbles(page).filter(has_text=text)

    def screenshot(self, label: str, page: Page | None = None) -> None:
        self.shoot(page or self.page, f"{_slug(self.name.split()[0])}-{label}")


def _watch(page: Page, errors: list[str], who: str) -> None:
    """Collect what should never happen: uncaught script errors and CSP violations."""
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            errors.append(f"CSP violation: {message.text}")

    page.on("console", on_console)
    if TRACE:  # E2E_TRACE=1 pytest -s: the console, requests and socket frames, for debugging
        tag = f"[{who}]"
        page.on("console", lambda m: print(tag, m.type, m.text))
        page.on("requestfinished", lambda r: print(tag, r.method, r.url))
        page.on("requestfailed", lambda r: print(tag, "FAILED", r.method, r.url, r.failure))
        page.on(
            "websocket",
            lambda ws: ws.on("framereceived", lambda frame: print(tag, "ws <-", frame)),
        )


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """Save a full-page screenshot under tests/e2e/artifacts/<test>-<label>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    test = _slug(request.node.name.removeprefix("test_"))

    def save(page: Page, label: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{test}-{label}.png"), full_page=True)

    return save


@pytest.fixture
def people(
    chromium: Browser, server: DaphneServer, shoot: Callable[[Page, str], None]
) -> Iterator[Callable[..., Person]]:
    """`people("Alice Martin")` -> a Person with a fresh browser context (not yet signed up)."""
    created: list[Person] = []

    def make(name: str, *, viewport: dict[str, int] = DESKTOP, phone: bool = False) -> Person:
        options: dict = {"viewport": viewport, "locale": "en-US", "timezone_id": "UTC"}
        if phone:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = chromium.new_context(**options)
        page = context.new_page()
        person = Person(
            name=name,
            email=f"{_slug(name)}@example.com",
            context=context,
            page=page,
            base_url=server.url,
            shoot=shoot,
        )
        _watch(page, person.errors, name)
        created.append(person)
        return person

    yield make
    errors = [f"{p.name}: {e}" for p in created for e in p.errors]
    for person in created:
        person.context.close()
    assert not errors, "\n".join(errors)


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    """A small, real PNG photo (a colour gradient) to upload."""
    from PIL import Image

    image = Image.new("RGB", (320, 200))
    image.putdata([(x * 255 // 320, y * 255 // 200, 160) for y in range(200) for x in range(320)])
    path = tmp_path / "sunrise.png"
    image.save(path)
    return path


@pytest.fixture
def big_picture(tmp_path: Path) -> Path:
    """A photo-sized PNG (noise does not compress: about 350 KB) for upload progress."""
    from PIL import Image

    image = Image.frombytes("RGB", (400, 300), os.urandom(400 * 300 * 3))
    path = tmp_path / "noise.png"
    image.save(path)
    return path
