"""The one door to the channel layer: "tell these users about this event".

Events go to one group per user, so every socket of that user (any tab, any server process)
receives them. From request code (`notify_users`, `user_sockets_close`) they are sent after the
surrounding transaction commits; the `async` helpers are for the consumer and presence, which
have no transaction to wait for.

Delivery is best effort, loss is not silent. If the channel layer (Redis) is unreachable when an
event is sent, the failure is logged and the write that caused it still succeeds; if this
process's subscription to Redis breaks or reconnects (frames may have been published while it
was away), every socket of this process is closed at once with CLOSE_RECONNECT, and the client
reconnects and catches up over REST. Each `newMessage` also names the previous message of its
conversation (`prevId`), so a client notices a missing message whatever lost it
(docs/REALTIME.md, "Gaps").
"""

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)

# WebSocket close codes (4000-4999 is the application range; Daphne's autobahn refuses to send
# 1xxx codes other than 1000, so "message too big" is 4413 rather than 1009).
CLOSE_UNAUTHORIZED = 4401  # missing, bad or revoked token: log in again, don't retry
CLOSE_TOO_BIG = 4413  # a frame over WS_MAX_FRAME_BYTES
CLOSE_FLOOD = 4429  # kept sending past the per-user event rate
CLOSE_RECONNECT = 4503  # the server lost events for this socket: reconnect and catch up

# Every socket joins this group to hear who comes online and goes offline.
ONLINE_GROUP = "online"


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def _event_message(event: str, data: Any) -> dict[str, Any]:
    """The channel-layer message for one event: the frame already serialised, once for every
    socket that will send it, and what the consumer needs to know about a new message."""
    text = json.dumps({"event": event, "data": data}, cls=DjangoJSONEncoder)
    message: dict[str, Any] = {"type": "chat.event", "event": event, "text": text}
    if event == "newMessage":
        message["meta"] = {
            "id": data["_id"],
            "senderId": data["senderId"],
            "conversationId": data["conversationId"],
            "seq": data["seq"],
            "clientId": data.get("clientId"),
        }
    return message


async def _group_send_async(group: str, message: dict[str, Any]) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        await layer.group_send(group, message)
    except Exception:  # the layer being down must not fail the write that caused the event
        logger.warning("channel layer: group_send to %s failed", group, exc_info=True)
        return False
    return True


async def _groups_send_async(groups: list[str], message: dict[str, Any]) -> None:
    """One message to several groups: one Redis round trip when the layer can (ours can)."""
    layer = get_channel_layer()
    if layer is None or not groups:
        return
    if not hasattr(layer, "group_send_many"):
        for group in groups:
            await _group_send_async(group, message)
        return
    try:
        await layer.group_send_many(groups, message)
    except Exception:  # the layer being down must not fail the write that caused the event
        logger.warning("channel layer: group_send to %d groups failed", len(groups), exc_info=True)


def _group_send(group: str, message: dict[str, Any]) -> None:
    async_to_sync(_group_send_async)(group, message)


def notify_users(user_ids: Iterable[object], event: str, data: Any) -> None:
    """Send `{"event": event, "data": data}` to every socket of each user, after commit."""
    message = _event_message(event, data)
    groups = sorted({user_group(uid) for uid in user_ids})
    transaction.on_commit(lambda: async_to_sync(_groups_send_async)(groups, message))


def user_sockets_close(*, user_id: object, code: int = CLOSE_UNAUTHORIZED) -> None:
    """Close every socket of a user (token revoked, account deactivated), after commit."""
    transaction.on_commit(
        lambda: _group_send(user_group(user_id), {"type": "chat.close", "code": code})
    )


async def notify_users_now(user_ids: Iterable[object], event: str, data: Any) -> None:
    """Like notify_users, at once (typing indicators: no database write to wait for)."""
    message = _event_message(event, data)
    await _groups_send_async(sorted({user_group(uid) for uid in user_ids}), message)


async def notify_each_now(events: Iterable[tuple[Iterable[object], str, Any]]) -> None:
    """Several `(user_ids, event, data)` at once: each user's frames travel as one channel-layer
    message (a flush of 49 receipts for one sender is one PUBLISH, not 49). Frames keep their
    order per user. Not for `newMessage` (its sockets need each message's meta)."""
    texts: dict[str, list[str]] = {}
    for user_ids, event, data in events:
        text = _event_message(event, data)["text"]
        for group in {user_group(uid) for uid in user_ids}:
            texts.setdefault(group, []).append(text)
    by_payload: dict[tuple[str, ...], list[str]] = {}
    for group, frames in texts.items():
        by_payload.setdefault(tuple(frames), []).append(group)
    for frames, groups in by_payload.items():
        message = (
            {"type": "chat.event", "text": frames[0]}
            if len(frames) == 1
            else {"type": "chat.events", "texts": list(frames)}
        )
        await _groups_send_async(sorted(groups), message)


OnlineListFetch = Callable[[], Awaitable[tuple[list[str], int]]]


@dataclass
class _OnlineListOutbox:
    """This process's pending whole-list broadcast: how to fetch the list when it goes out."""

    fetch: OnlineListFetch | None = None
    last_sent: float = float("-inf")
    flush: asyncio.Task[None] | None = None


# One outbox per event loop (one per Daphne process; one per test in the tests).
_outboxes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _OnlineListOutbox]" = (
    weakref.WeakKeyDictionary()
)


async def _has_listeners(group: str) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        if hasattr(layer, "group_has_subscribers"):
            return await layer.group_has_subscribers(group)
        if hasattr(layer, "groups"):  # Channels' in-memory layer: this process is everyone
            return bool(layer.groups.get(group))
        return True
    except Exception:  # can't tell: send, as before
        return True


async def online_users_broadcast(fetch: OnlineListFetch) -> None:
    """Send the whole online list to the seed client's sockets (those in ONLINE_GROUP).

    Each change would send the whole list to every such socket: N people arriving cost N^2
    frames (measured: 1,000 sockets connecting made ~450,000 frames). A process therefore sends
    the first change at once and merges those that follow within PRESENCE_BROADCAST_WINDOW
    seconds into one trailing send of the newest list; and it fetches the list only when some
    process has such a socket at all (the browser uses deltas, see messaging/presence.py).
    """
    window = float(settings.PRESENCE_BROADCAST_WINDOW)
    loop = asyncio.get_running_loop()
    outbox = _outboxes.setdefault(loop, _OnlineListOutbox())
    outbox.fetch = fetch
    if window <= 0:
        await _flush_online_list(outbox, 0)
        return
    if outbox.flush is not None and not outbox.flush.done():
        return  # a trailing send is scheduled and will carry the newest list
    wait = outbox.last_sent + window - loop.time()
    if wait > 0:
        outbox.flush = loop.create_task(_flush_online_list(outbox, wait))
        return
    await _flush_online_list(outbox, 0)


async def _flush_online_list(outbox: _OnlineListOutbox, delay: float) -> None:
    if delay:
        await asyncio.sleep(delay)
    fetch, outbox.fetch = outbox.fetch, None
    outbox.last_sent = asyncio.get_running_loop().time()
    if fetch is None or not await _has_listeners(ONLINE_GROUP):
        return
    try:
        online, version = await fetch()
    except Exception:  # presence store away: the next change sends a fresh list
        logger.warning("could not fetch the online list", exc_info=True)
        return
    message = {"type": "chat.online", "online": online, "version": version}
    await _group_send_async(ONLINE_GROUP, message)


SocketClose = Callable[[int], Awaitable[None]]


class ChannelLayerUnavailable(Exception):
    """A socket can't be subscribed right now (Redis unreachable): it would miss events."""


# This process's sockets, per event loop (one per Daphne process; one per test): channel name ->
# how to close that socket. What a lost subscription closes.
_sockets: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SocketClose]]" = (
    weakref.WeakKeyDictionary()
)


def _local_sockets() -> dict[str, SocketClose]:
    return _sockets.setdefault(asyncio.get_running_loop(), {})


def _on_subscription_lost(reason: str) -> None:
    """The layer's subscriber connection broke or reconnected: events may be gone, so every
    socket of this loop reconnects and catches up (their clients can't know otherwise)."""
    sockets = _sockets.get(asyncio.get_running_loop(), {})
    if sockets:
        logger.warning("closing %d sockets to catch up: %s", len(sockets), reason)
    for close in list(sockets.values()):
        asyncio.ensure_future(close(CLOSE_RECONNECT))


async def socket_join(
    channel_name: str, user_id: object, close: SocketClose, *, whole_online_list: bool = True
) -> None:
    """Subscribe one socket to its user's events (and to the whole online list, if asked).

    `close(code)` closes the socket; it is called with CLOSE_RECONNECT when the subscription may
    have missed events. Raises when the channel layer is unreachable (the socket can't be live).
    """
    layer = get_channel_layer()
    if hasattr(layer, "add_loss_listener"):
        layer.add_loss_listener(_on_subscription_lost)
    await layer.group_add(user_group(user_id), channel_name)
    if whole_online_list:
        await layer.group_add(ONLINE_GROUP, channel_name)
    if not getattr(layer, "subscription_healthy", lambda: True)():
        # The groups were subscribed before, on a connection that is down: nothing would arrive.
        raise ChannelLayerUnavailable("the channel layer's subscription is down")
    # Registered once subscribed: a loss before this point either failed the subscription or
    # was repaired by the reconnection that resubscribed it, and the client has not caught up
    # yet (it does on `ready`, which follows), so it missed nothing.
    _local_sockets()[channel_name] = close


async def socket_leave(channel_name: str, user_id: object) -> None:
    _local_sockets().pop(channel_name, None)
    layer = get_channel_layer()
    for group in (user_group(user_id), ONLINE_GROUP):
        try:
            await layer.group_discard(group, channel_name)
        except Exception:  # the socket is gone either way; Redis forgets it when it reconnects
            logger.warning("channel layer: group_discard failed", exc_info=True)
