"""An open chat never misses a message, whatever loses its live frame (real Redis, real browser)."""

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import WebSocketRoute, expect

from tests.e2e.conftest import WS_URL
from tests.servers import DaphneServer, HttpSession, RedisServer, daphne_env

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

RATE = 15  # messages per second, as in the audit


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def server(
    tmp_path: Path, app_files: dict[str, Path], redis: RedisServer
) -> Iterator[DaphneServer]:
    """The app as in production with Redis (channel layer, presence, limits)."""
    shutil.copy(app_files["db"], tmp_path / "db.sqlite3")
    env = daphne_env(
        tmp_path,
        STATIC_ROOT=str(app_files["static"]),
        STATIC_MANIFEST="1",
        REDIS_URL=redis.url,
    )
    with DaphneServer(env) as daphne:
        yield daphne


def _sender(server: DaphneServer) -> tuple[HttpSession, str]:
    """Ann, sending over REST like a script or a second device would."""
    ann = HttpSession(server.url)
    ann.signup("Ann Lee", f"ann-{uuid.uuid4().hex[:6]}@example.com", "secret123")
    return ann, ann.call("GET", "/api/auth/check")[1]["_id"]


def _send_for(ann: HttpSession, to: str, seconds: float, acked: list[str]) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status, data = ann.call("POST", f"/api/messages/{to}", {"text": f"burst {len(acked)}"})
        assert status == 201, (status, data)
        acked.append(data["text"])
        time.sleep(1 / RATE)  # the sending rate of the scenario


def test_messages_sent_while_redis_restarts_all_show_in_the_open_chat(people, server, redis):
    """Redis down 3 s mid-stream: every acknowledged message ends up on screen once, no reload."""
    bob = people("Bob Okafor")
    bob.signup()
    ann, _ = _sender(server)
    bob.page.reload()
    bob.open_chat("Ann Lee")
    bob_id = bob.page.evaluate(
        "JSON.parse(document.getElementById('boot-data').textContent).me._id"
    )

    acked: list[str] = []
    _send_for(ann, bob_id, 1.0, acked)
    redis.stop()
    _send_for(ann, bob_id, 3.0, acked)  # the audit's ~60 messages sent while Redis is away
    redis.start()
    _send_for(ann, bob_id, 3.0, acked)

    bubbles = bob.bubbles()
    expect(bubbles).to_have_count(len(acked), timeout=30_000)
    shown = [text.strip() for text in bubbles.locator(".bubble__text").all_inner_texts()]
    assert shown == acked  # all of them, in order, none twice
    bob.screenshot("after-redis-restart")


def test_a_dropped_frame_is_noticed_and_fetched(people, server):
    """The server sent it but the socket lost it: the next message reveals the gap."""
    bob = people("Bob Okafor")
    bob.signup()
    ann, _ = _sender(server)
    dropped: list[str] = []

    def drop_one(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if isinstance(message, str) and "lost in transit" in message and not dropped:
                dropped.append(message)
                return
            ws.send(message)

        upstream.on_message(from_server)
        ws.on_message(upstream.send)

    bob.page.route_web_socket(WS_URL, drop_one)
    bob.page.reload()
    bob.open_chat("Ann Lee")
    bob_id = bob.page.evaluate(
        "JSON.parse(document.getElementById('boot-data').textContent).me._id"
    )

    for text in ("first", "lost in transit", "third"):
        assert ann.call("POST", f"/api/messages/{bob_id}", {"text": text})[0] == 201

    expect(bob.bubbles()).to_have_count(3)
    assert dropped, "the frame was never dropped: the test did not test anything"
    shown = [text.strip() for text in bob.bubbles().locator(".bubble__text").all_inner_texts()]
    assert shown == ["first", "lost in transit", "third"]
