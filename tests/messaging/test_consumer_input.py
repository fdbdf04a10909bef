"""Hostile WebSocket frames: lone surrogates and deep nesting get an `error` event naming the
field; the socket stays open (a 1011 close would drop every tab's realtime state)."""

import pytest

from chatproject.text import INVALID_TEXT, NOT_TEXT, TOO_DEEP
from tests.messaging.test_consumer import next_event, send_event

pytestmark = pytest.mark.django_db(transaction=True)


async def assert_still_open(socket) -> None:
    await send_event(socket, "ping")
    assert await next_event(socket, "pong") is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"event": "typing", "data": {"to": "\\ud800", "isTyping": true}}', "data.to"),
        ('{"event": "read", "data": {"with": "1", "upTo": "\\udfffx"}}', "data.upTo"),
        ('{"event": "read", "data": {"with": "\\ud800", "upTo": "1"}}', "data.with"),
        ('{"event": "\\ud800"}', "event"),
        ('{"event": "ping", "data": {"\\ud800": 1}}', "data.\\ud800"),
        ('"\\ud800"', "frame"),
    ],
)
async def test_a_lone_surrogate_in_a_frame_gets_an_error_naming_the_field(
    open_socket, alice, raw, field
):
    """`"\\ud800"` anywhere in a frame (key, value, event name, the frame itself) is named."""
    socket = await open_socket(alice)
    await socket.send_to(text_data=raw)
    assert await next_event(socket, "error") == {
        "message": INVALID_TEXT,
        "errors": {field: [NOT_TEXT]},
    }
    await assert_still_open(socket)


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 8000,
        '{"event": "typing", "data": ' + "[" * 40 + "]" * 40 + "}",
        '{"event": "ping", "data": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
    ],
    ids=["8000 [", "deep data array", "deep data object"],
)
async def test_a_frame_nested_too_deep_gets_an_error_and_the_socket_stays_open(
    open_socket, alice, raw
):
    """8,000 `[` fits the 8 KB frame cap; it used to raise RecursionError and close with 1011."""
    socket = await open_socket(alice)
    await socket.send_to(text_data=raw)
    assert await next_event(socket, "error") == {
        "message": TOO_DEEP,
        "errors": {"frame": [TOO_DEEP]},
    }
    await assert_still_open(socket)


async def test_100k_deep_nesting_is_refused_without_recursing(open_socket, alice, settings):
    """With the frame cap raised, a 100,000-deep frame is still refused up front."""
    settings.WS_MAX_FRAME_BYTES = 200_000
    socket = await open_socket(alice)
    await socket.send_to(text_data="[" * 100_000 + "]" * 100_000)
    assert (await next_event(socket, "error"))["message"] == TOO_DEEP
    await assert_still_open(socket)
