"""The chat WebSocket at `/ws/`: translates frames to service calls and events to frames.

The protocol (events, close codes, limits) is documented in docs/REALTIME.md.
"""

import asyncio
import logging
import time
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from accounts.models import User
from accounts.tokens import atoken_user
from chatproject.errors import ServiceError
from chatproject.ids import parse_pk
from chatproject.local_limits import local_windows
from chatproject.text import InputError, json_input
from messaging import realtime, receipts, selectors, sending
from messaging.direct import adirect_conversation_find
from messaging.members import aconversation_member_ids
from messaging.models import Conversation, Message
from messaging.presence import presence_first_list, presence_socket_close, presence_socket_open
from messaging.writer import aread
from messaging.ws_auth import scope_asks_presence_deltas, scope_is_presence_only, scope_token
from safety.cache import ablocks_of

logger = logging.getLogger(__name__)


def user_exists(pk: Any) -> bool:
    return selectors.user_qs(user_id=pk).exists()


BAD_FRAME = 'Frames must be JSON objects: {"event": <name>, "data": <payload>}'
BINARY_FRAME = "Binary frames are not supported"
UNKNOWN_EVENT = "Unknown event"
BAD_TYPING = "typing needs data {to: <userId> or conversationId, isTyping: true|false}"
BAD_READ = "read needs data {with: <userId> or conversationId, upTo: <messageId>}"
BAD_SEND = (
    "sendMessage needs data {to: <userId> or conversationId, text: <text> and/or"
    " attachmentId, clientId: <1-64 characters>, replyTo?: <messageId>}"
)
SEND_FAILED = "The message could not be stored, please retry"
TOO_MANY_EVENTS = "Too many events: slow down (this one was dropped)"

FLOOD_WINDOW = 10.0  # seconds over which refused events are counted towards a close


class ChatConsumer(AsyncJsonWebsocketConsumer):
    user: User | None = None
    user_id: str = ""
    closing = False  # we sent a close: ignore whatever arrives until the disconnect

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Daphne cancels every consumer on shutdown (SIGTERM) without a disconnect event:
            # leave presence now, so others see it at once rather than after PRESENCE_TTL.
            await self.disconnect(1001)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections of its one shared sync thread before every
        # handler: a thread hop per frame and per event, every socket queueing for that one
        # thread (a fifth of a message's cost under load). This consumer never uses that
        # thread's connection: the database writer and reader threads own theirs.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        # Accept first: a browser can read a close code, but not why a handshake failed.
        await self.accept()
        token = scope_token(self.scope)
        user = await atoken_user(token)
        if user is None:
            await self.close(code=realtime.CLOSE_UNAUTHORIZED)
            return
        self.typing_timers: dict[str, asyncio.Task[None]] = {}  # recipient id -> expiry
        self.answered: set[str] = set()  # clientIds answered with messageSent, echo pending
        self.online_version = 0  # of the last online list sent to this client
        self.refused, self.refused_window = 0, 0  # flood events dropped in this 10 s window
        self.user, self.user_id = user, str(user.pk)
        # The seed's client wants the whole online list on every change; ours asks for deltas.
        self.whole_online_list = not scope_asks_presence_deltas(self.scope)
        self.presence_only = scope_is_presence_only(self.scope)
        try:
            await realtime.socket_join(
                self.channel_name,
                self.user_id,
                self._close_code,
                whole_online_list=self.whole_online_list,
            )
        except Exception:  # channel layer (Redis) unreachable: this socket could not be live
            logger.warning("channel layer unavailable; closing new socket", exc_info=True)
            await self.close(code=realtime.CLOSE_RECONNECT)
            return
        # A logout that landed between the token check and joining the group sent its close
        # to nobody: check again now that we would hear it.
        if await atoken_user(token) is None:
            await self.close(code=realtime.CLOSE_UNAUTHORIZED)
            return
        try:
            await presence_socket_open(self.user_id, self.channel_name, self._close_code)
            online, version = await presence_first_list(self.user_id, whole=self.whole_online_list)
        except Exception:  # presence store (Redis) unreachable: ask the client to come back
            logger.warning("presence unavailable; closing new socket", exc_info=True)
            await self.close(code=realtime.CLOSE_RECONNECT)
            return
        # Subscribed from here on: what the client fetches now plus what arrives live is
        # everything. The client catches up on this event, not on the socket opening.
        await self.send_json({"event": "ready", "data": {"userId": self.user_id}})
        await self._send_online(online, version)
        # Messages that waited for this user have now reached one of their sockets (a page
        # that shows no messages is not where they arrive).
        if self.presence_only:
            return
        try:
            await receipts.deliveries_on_connect(user.pk)
        except Exception:  # a busy writer: the next message or connection records them
            logger.warning("could not record deliveries on connect", exc_info=True)

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        for to, timer in list(self.typing_timers.items()):
            timer.cancel()
            await self._typing_forward(to, False)
        self.typing_timers.clear()
        await realtime.socket_leave(self.channel_name, self.user_id)
        await presence_socket_close(self.user_id, self.channel_name)
        self.user = None

    # --- client -> server -------------------------------------------------------------------

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user is None or self.closing:
            return
        if text_data is None:
            await self._error(BINARY_FRAME)
            return
        if len(text_data.encode()) > settings.WS_MAX_FRAME_BYTES:
            await self.close(code=realtime.CLOSE_TOO_BIG)
            return
        if local_windows.hit(
            f"ws-events:{self.user_id}", limit=settings.WS_EVENTS_PER_SECOND, window=1
        ):
            await self._refuse()
            return
        try:
            frame = json_input(text_data, root="frame")
        except InputError as exc:  # a lone surrogate, or nesting json would recurse into
            await self._error(exc.message, exc.errors)
            return
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or not isinstance(frame.get("event"), str):
            await self._error(BAD_FRAME)
            return
        handler = {
            "sendMessage": self._on_send_message,
            "typing": self._on_typing,
            "read": self._on_read,
            "ping": self._on_ping,
        }.get(frame["event"])
        if handler is None:
            await self._error(UNKNOWN_EVENT)
            return
        await handler(frame.get("data"))

    async def _on_send_message(self, data: Any) -> None:
        """Store and announce a text message; this socket gets `messageSent` or `messageFailed`."""
        client_id = data.get("clientId") if isinstance(data, dict) else None
        if not isinstance(client_id, str) or not client_id.strip():
            await self._send_failed(None, ServiceError(BAD_SEND, errors={"clientId": [BAD_SEND]}))
            return
        try:
            sent = await sending.message_send_async(
                sender_id=self.user.pk,
                receiver_id=data.get("to"),
                conversation_id=data.get("conversationId"),
                text=data.get("text"),
                client_id=client_id,
                reply_to=data.get("replyTo"),
                attachment_id=data.get("attachmentId"),
            )
        except ServiceError as exc:
            await self._send_failed(client_id, exc)
            return
        except Exception:  # the database failing: the client may retry with the same clientId
            logger.exception("sendMessage failed")
            await self._send_failed(client_id, ServiceError(SEND_FAILED, status=503, retry_after=1))
            return
        if sent.created:
            # Its `newMessage` is on its way to every socket; this one has it in the answer.
            self.answered.add(client_id)
        await self.send_json(
            {"event": "messageSent", "data": {"clientId": client_id, "message": sent.payload}}
        )

    async def _send_failed(self, client_id: str | None, error: ServiceError) -> None:
        data: dict[str, Any] = {
            "clientId": client_id,
            "status": error.status,
            "message": error.message,
        }
        if error.errors:
            data["errors"] = error.errors
        if error.retry_after is not None:
            data["retryAfter"] = error.retry_after
        await self.send_json({"event": "messageFailed", "data": data})

    async def _on_ping(self, data: Any) -> None:
        await self.send_json({"event": "pong", "data": None})

    async def _on_typing(self, data: Any) -> None:
        is_typing = data.get("isTyping") if isinstance(data, dict) else None
        target = await self._typing_target(data) if isinstance(is_typing, bool) else None
        if target is None:
            await self._error(BAD_TYPING)
            return
        timer = self.typing_timers.pop(target, None)
        if timer is not None:
            timer.cancel()
        if is_typing:
            # Forward only the change; a refresh just pushes the expiry back.
            if timer is None:
                await self._typing_forward(target, True)
            self.typing_timers[target] = asyncio.create_task(self._typing_expire(target))
        elif timer is not None:
            await self._typing_forward(target, False)

    async def _typing_target(self, data: dict[str, Any]) -> str | None:
        """ "c:<conversation>" (a conversation this user is in) or "u:<user>" (the seed's `to`)."""
        if "conversationId" in data:
            pk = parse_pk(Conversation, data["conversationId"])
            if pk is None or self.user.pk not in await aconversation_member_ids(pk):
                return None
            return f"c:{pk}"
        pk = parse_pk(User, data.get("to"))
        if pk is None or str(pk) == self.user_id:
            return None
        return f"u:{pk}"

    async def _typing_expire(self, target: str) -> None:
        """Stop the indicator when the client stops refreshing it (tab hung, laptop closed)."""
        await asyncio.sleep(float(settings.TYPING_TTL))
        self.typing_timers.pop(target, None)
        await self._typing_forward(target, False)

    async def _typing_forward(self, target: str, is_typing: bool) -> None:
        kind, _, target_id = target.partition(":")
        data: dict[str, Any] = {"userId": self.user_id, "isTyping": is_typing}
        blocked = (await ablocks_of(self.user_id)).either  # never across a block, either way
        if kind == "u":
            if target_id not in blocked:
                await realtime.notify_users_now([target_id], "typing", data)
            return
        conversation_pk = parse_pk(Conversation, target_id)
        others = [
            u
            for u in await aconversation_member_ids(conversation_pk)
            if u != self.user.pk and str(u) not in blocked
        ]
        await realtime.notify_users_now(others, "typing", {**data, "conversationId": target_id})

    async def _on_read(self, data: Any) -> None:
        up_to = data.get("upTo") if isinstance(data, dict) else None
        if not isinstance(up_to, str | int) or isinstance(up_to, bool):
            await self._error(BAD_READ)
            return
        try:
            if "conversationId" in data:
                conversation_pk = parse_pk(Conversation, data["conversationId"])
                if conversation_pk is None:
                    raise ServiceError(selectors.CONVERSATION_NOT_FOUND, status=404)
            else:
                other = data.get("with")
                if not isinstance(other, str | int) or isinstance(other, bool):
                    await self._error(BAD_READ)
                    return
                conversation_pk = await self._direct_with(other)
            await receipts.read_async(
                reader_pk=self.user.pk, conversation_id=conversation_pk, up_to=str(up_to)
            )
        except ServiceError as exc:
            await self._error(exc.message)

    async def _direct_with(self, other: object) -> Any:
        """The conversation with `other` (the seed's `with`), or the REST API's 404."""
        other_pk = parse_pk(User, other)
        if other_pk is None or not await aread(user_exists, other_pk):
            raise ServiceError(selectors.USER_NOT_FOUND, status=404)
        conversation_pk = await adirect_conversation_find(self.user.pk, other_pk)
        if conversation_pk is None:
            raise ServiceError(selectors.MESSAGE_NOT_FOUND, status=404)
        return conversation_pk

    async def _refuse(self) -> None:
        """Drop a flood event; a socket that keeps flooding is closed."""
        window = int(time.monotonic() // FLOOD_WINDOW)
        if window != self.refused_window:
            self.refused_window, self.refused = window, 0
        self.refused += 1
        if self.refused > settings.WS_FLOOD_CLOSE_AFTER:
            await self.close(code=realtime.CLOSE_FLOOD)
        else:
            await self._error(TOO_MANY_EVENTS)

    async def _error(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        data: dict[str, Any] = {"message": message}
        if errors:
            data["errors"] = errors
        await self.send_json({"event": "error", "data": data})

    # --- channel layer -> client (handlers for realtime.py's messages) -----------------------

    async def chat_event(self, message: dict[str, Any]) -> None:
        if self.user is None or self.closing:
            return
        meta = message.get("meta")
        if meta is not None and self.presence_only:
            return  # a newMessage, to a page that shows none: not delivered by this socket
        if meta is not None and meta["senderId"] == self.user_id and self.answered:
            client_id = meta.get("clientId")
            if client_id in self.answered:  # this socket sent it and got `messageSent`
                self.answered.discard(client_id)
                return
        await self.send(text_data=message["text"])  # serialised once by realtime.py
        if meta is not None and meta["senderId"] != self.user_id:
            # It reached a socket of a member: delivered (recorded with others, shortly).
            conversation_pk = parse_pk(Conversation, meta["conversationId"])
            message_pk = parse_pk(Message, meta["id"])
            if conversation_pk is not None and message_pk is not None:
                receipts.delivery_noted(
                    conversation_id=conversation_pk,
                    user_pk=self.user.pk,
                    seq=meta["seq"],
                    message_id=message_pk,
                    sender_pk=parse_pk(User, meta["senderId"]),
                )

    async def chat_events(self, message: dict[str, Any]) -> None:
        """Several frames for this user sent together (realtime.notify_each_now)."""
        if self.user is None or self.closing:
            return
        for text in message["texts"]:
            await self.send(text_data=text)

    async def chat_online(self, message: dict[str, Any]) -> None:
        if self.user is None or self.closing:
            return
        await self._send_online(message["online"], message.get("version", 0))

    async def chat_close(self, message: dict[str, Any]) -> None:
        await self._close_code(message.get("code", realtime.CLOSE_UNAUTHORIZED))

    async def _close_code(self, code: int) -> None:
        if not self.closing:
            await self.close(code=code)

    async def _send_online(self, online: list[str], version: int) -> None:
        """Lists come from several processes and can cross; never show an older one."""
        if version and version <= self.online_version:
            return
        self.online_version = version
        blocked = (await ablocks_of(self.user_id)).either
        if blocked:  # the seed's whole list: never anyone in a block with this user
            online = [u for u in online if u not in blocked]
        await self.send_json({"event": "getOnlineUsers", "data": online})
