"""Fixtures for the messaging tests (users and API clients come from tests/conftest.py)."""

import base64
import contextlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from accounts.models import User
from messaging import realtime
from messaging.models import Message
from tests.accounts.images import picture

# --- REST/storage helper fixtures -------------------------------------------------------------


@pytest.fixture
def chat_media(settings, tmp_path: Path) -> Path:  # noqa: ANN001 - pytest-django fixture
    """A fresh, empty MEDIA_ROOT for this test."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def png_data_url() -> Callable[..., str]:
    """A small PNG as a data URL, like the browser's FileReader produces."""

    def make(size: tuple[int, int] = (64, 48), color: str = "teal") -> str:
        payload = base64.b64encode(picture("PNG", size=size, color=color)).decode()
        return f"data:image/png;base64,{payload}"

    return make


@pytest.fixture
def make_message(db) -> Callable[..., Message]:  # noqa: ANN001
    """Store a message in the pair's direct conversation (no rate limit, no events), for
    arranging history; `created_at=` backdates it, `delivered_at=`/`read_at=` move the
    receiver's cursors to it at that time."""
    from messaging.direct import direct_conversation_id
    from messaging.models import Conversation
    from messaging.receipts import cursor_move
    from messaging.sending import message_append

    def make(
        sender: User,
        receiver: User,
        text: str = "hi",
        *,
        created_at: Any = None,
        delivered_at: Any = None,
        read_at: Any = None,
        **fields: Any,
    ) -> Message:
        conversation_id = direct_conversation_id(sender.pk, receiver.pk)
        message = Message(sender=sender, receiver=receiver, text=text, **fields)
        with transaction.atomic():
            message_append(conversation_id, message)
            if created_at is not None:
                Message.objects.filter(pk=message.pk).update(created_at=created_at)
                message.created_at = created_at
            conversation = Conversation.objects.get(pk=conversation_id)
            for kind, at in (("delivered", delivered_at), ("read", read_at)):
                if at is not None:
                    cursor_move(conversation, receiver.pk, kind, message.seq, message.pk, at=at)
        return message

    return make


@pytest.fixture
def sent_events(monkeypatch) -> Callable[[], Any]:  # noqa: ANN001
    """`with sent_events() as events:` records what `realtime.notify_users` (and, from async
    code, `notify_users_now` and `notify_each_now`) sends.

    Each entry is `(sorted user id strings, event, JSON-round-tripped data)`, appended when the
    transaction commits, as the real sockets would get it; inside the block, commit callbacks
    run (pytest-django's test transaction would otherwise swallow them).
    """
    from django.test import TestCase

    @contextmanager
    def capture() -> Iterator[list[tuple[list[str], str, Any]]]:
        sent: list[tuple[list[str], str, Any]] = []
        original, original_now = realtime.notify_users, realtime.notify_users_now
        original_each = realtime.notify_each_now

        def record(user_ids: Any, event: str, data: Any) -> tuple[list[str], str, Any]:
            ids = sorted(str(uid) for uid in user_ids)
            return ids, event, json.loads(json.dumps(data, cls=DjangoJSONEncoder))

        def spy(user_ids: Any, event: str, data: Any) -> None:
            entry = record(user_ids, event, data)
            transaction.on_commit(lambda: sent.append(entry))
            original(user_ids, event, data)

        async def spy_now(user_ids: Any, event: str, data: Any) -> None:
            # The async paths (the socket, async views) send after their writer job committed.
            sent.append(record(user_ids, event, data))
            await original_now(user_ids, event, data)

        async def spy_each(events: Any) -> None:
            events = list(events)
            sent.extend(record(*event) for event in events)
            await original_each(events)

        with monkeypatch.context() as patch:
            patch.setattr(realtime, "notify_users", spy)
            patch.setattr(realtime, "notify_users_now", spy_now)
            patch.setattr(realtime, "notify_each_now", spy_each)
            with TestCase.captureOnCommitCallbacks(execute=True):
                yield sent

    return capture


# --- Realtime helper fixtures (WebSocket consumer, presence) ------------------------------------

WS_HOST = "localhost"
WS_ORIGIN = f"http://{WS_HOST}"  # the page's origin: the same scheme, host and port as the socket


@pytest.fixture(autouse=True)
def _no_one_online() -> Iterator[None]:
    """In-process presence starts empty in every test (sockets of a failed test linger)."""
    from messaging.presence import presence_local_reset

    presence_local_reset()
    yield
    presence_local_reset()


@pytest.fixture
def fast_realtime(settings) -> Any:  # noqa: ANN001 - pytest-django fixture
    """Short timers so expiry can be observed in a fast test."""
    settings.TYPING_TTL = 0.3
    return settings


@pytest.fixture
async def open_socket() -> Any:
    """`await open_socket(user)` -> a connected WebsocketCommunicator on `/ws/` as that user.

    `token=` overrides the cookie (None: no cookie), `origin=` the Origin header, `path=` the
    URL (e.g. "/ws/?presence=delta"). Sockets still
    open at the end are disconnected. Connection failures come back unconnected, not raised.
    """
    from channels.testing import WebsocketCommunicator

    from accounts.tokens import token_issue
    from chatproject.asgi import application

    opened: list[WebsocketCommunicator] = []
    default = object()

    async def open_(
        user: User | None = None,
        *,
        token: Any = default,
        origin: str | None = WS_ORIGIN,
        path: str = "/ws/",
    ) -> WebsocketCommunicator:
        if token is default:
            token = token_issue(user) if user is not None else None
        headers = [(b"host", WS_HOST.encode())]
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        if token is not None:
            headers.append((b"cookie", f"jwt={token}".encode()))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        communicator.connected, _ = await communicator.connect(timeout=5)
        opened.append(communicator)
        return communicator

    yield open_
    for communicator in opened:
        # It may have been closed by the server or crashed already; that was the test's point.
        with contextlib.suppress(Exception):
            await communicator.disconnect(timeout=5)


# --- Conversations and groups ---------------------------------------------------------------------


@pytest.fixture
def make_group(db) -> Callable[..., Any]:  # noqa: ANN001
    """`make_group(creator, *members, title=...)`: a group made by the service (its creator
    is its admin; the "created" system line is its first message)."""
    from messaging.groups import group_create

    def make(creator: User, *members: User, title: str = "Team") -> Any:
        return group_create(creator=creator, title=title, member_ids_=[str(m.pk) for m in members])

    return make


@pytest.fixture
def group_post(db) -> Callable[..., Message]:  # noqa: ANN001
    """`group_post(sender, conversation, text)`: store a message in any conversation the sender
    is in (no rate limit, no events), for arranging history."""
    from messaging.sending import message_append

    def post(sender: User, conversation: Any, text: str = "hi") -> Message:
        message = Message(sender=sender, text=text)
        with transaction.atomic():
            message_append(getattr(conversation, "pk", conversation), message)
        return message

    return post


@pytest.fixture
def team(alice, bob, carol, make_group):  # noqa: ANN001, ANN201
    """A group of three, Alice its admin."""
    return make_group(alice, bob, carol, title="Team")
