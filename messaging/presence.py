"""Who is online: open sockets counted per user across every server process.

A user is online while at least one of their sockets is open, on any process. Each socket is
an entry with an expiry time; its process refreshes it every PRESENCE_HEARTBEAT seconds, so
when a process dies (even SIGKILL) its entries lapse after PRESENCE_TTL and the next sweep by a
surviving process takes those users offline and tells everyone concerned.

Who hears it: the people who share a conversation with the user (`userOnline` / `userOffline`
to their sockets), which costs one publish per contact per arrival or departure, whatever the
number of people online. Sockets of the seed's client (no `?presence=delta`) still get the
whole online list on every change (`getOnlineUsers`), merged per process within
PRESENCE_BROADCAST_WINDOW, and only fetched when such a socket exists somewhere.

With REDIS_URL the entries live in Redis (shared by all processes):
    parley:presence:conns:<user>  sorted set  socket id -> expiry (unix seconds)
    parley:presence:online        sorted set  user id   -> latest expiry of their sockets
    parley:presence:version       counter     orders the online lists sent to clients
Each change is one Lua script, so two processes closing a user's last two tabs at the same
moment see "1 left" and "0 left", never both "0". Without Redis they live in this process.

Every online list carries a version (microseconds, strictly increasing), so a socket that
receives lists out of order (they come from different processes) never shows an older one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from messaging import realtime

logger = logging.getLogger(__name__)

PREFIX = "parley:presence:"


@dataclass(frozen=True)
class PresenceChange:
    """The result of a presence update: whether the online set changed, and its version."""

    changed: bool
    version: int


def _now() -> float:
    """Unix time; one function so tests can freeze the clock."""
    return time.time()


def _ttl() -> float:
    return float(settings.PRESENCE_TTL)


def _next_version(last: int) -> int:
    return max(time.time_ns() // 1000, last + 1)


class LocalStore:
    """Presence in this process only (no REDIS_URL): one process, nothing to heal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # presence_online_ids() reads from request threads
        self.conns: dict[str, set[str]] = {}
        self.version = 0

    def _change(self, changed: bool) -> PresenceChange:
        if changed:
            self.version = _next_version(self.version)
        return PresenceChange(changed, self.version)

    async def online_list(self, now: float) -> tuple[list[str], int]:
        with self._lock:
            return sorted(self.conns), self.version

    async def online_among(self, user_ids: list[str], now: float) -> set[str]:
        with self._lock:
            return {uid for uid in user_ids if uid in self.conns}

    async def open(self, user_id: str, conn_id: str, now: float) -> PresenceChange:
        with self._lock:
            conns = self.conns.setdefault(user_id, set())
            conns.add(conn_id)
            return self._change(len(conns) == 1)

    async def close(self, user_id: str, conn_id: str, now: float) -> PresenceChange:
        with self._lock:
            conns = self.conns.get(user_id, set())
            conns.discard(conn_id)
            gone = user_id in self.conns and not conns
            if gone:
                del self.conns[user_id]
            return self._change(gone)

    async def refresh(self, pairs: list[tuple[str, str]], now: float) -> PresenceChange:
        with self._lock:
            return self._change(False)

    async def sweep(self, now: float) -> tuple[list[str], PresenceChange]:
        with self._lock:
            return [], self._change(False)

    async def boot_id(self) -> str:
        return "local"

    def online_ids(self, now: float) -> set[str]:
        with self._lock:
            return set(self.conns)

    async def aclose(self) -> None:
        pass


# KEYS: none (the scripts build per-user keys from the prefix; one Redis, not a cluster).
# ARGV[1] prefix. Each script returns {changed, version, extra}: never the whole online list,
# which made every arrival cost O(people online) (issue 9's 10,000 sockets).
_LUA_COMMON = """
local p = ARGV[1]
local function bump()
  local t = redis.call('TIME')
  local v = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('GET', p .. 'version') or '0')
  if v <= last then v = last + 1 end
  redis.call('SET', p .. 'version', string.format('%.0f', v))
  return v
end
local function result(changed, now, extra)
  local v
  if changed then v = bump() else v = tonumber(redis.call('GET', p .. 'version') or '0') end
  return {changed and 1 or 0, string.format('%.0f', v), extra or {}}
end
"""

# ARGV: prefix, user, conn, now, expiry, key ttl (whole seconds)
_LUA_OPEN = (
    _LUA_COMMON
    + """
local conns = p .. 'conns:' .. ARGV[2]
local now = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', conns, '-inf', now)
local before = redis.call('ZCARD', conns)
redis.call('ZADD', conns, ARGV[5], ARGV[3])
redis.call('EXPIRE', conns, ARGV[6])
redis.call('ZADD', p .. 'online', 'GT', ARGV[5], ARGV[2])
return result(before == 0, now)
"""
)

# ARGV: prefix, user, conn, now
_LUA_CLOSE = (
    _LUA_COMMON
    + """
local conns = p .. 'conns:' .. ARGV[2]
local now = tonumber(ARGV[4])
redis.call('ZREM', conns, ARGV[3])
redis.call('ZREMRANGEBYSCORE', conns, '-inf', now)
local changed = false
if redis.call('ZCARD', conns) == 0 then
  changed = redis.call('ZREM', p .. 'online', ARGV[2]) == 1
end
return result(changed, now)
"""
)

# ARGV: prefix, now, expiry, key ttl, then user, conn, user, conn, ...
# Re-adds entries that vanished (Redis restarted or flushed): users who reappear this way
# count as a change so everyone gets the list again.
_LUA_REFRESH = (
    _LUA_COMMON
    + """
local now = tonumber(ARGV[2])
local changed = false
for i = 5, #ARGV, 2 do
  local conns = p .. 'conns:' .. ARGV[i]
  redis.call('ZADD', conns, ARGV[3], ARGV[i + 1])
  redis.call('EXPIRE', conns, ARGV[4])
  local score = redis.call('ZSCORE', p .. 'online', ARGV[i])
  if not score or tonumber(score) <= now then changed = true end
  redis.call('ZADD', p .. 'online', 'GT', ARGV[3], ARGV[i])
end
return result(changed, now)
"""
)

# ARGV: prefix, now. Users whose every socket lapsed (their process died) go offline; the
# script removes them atomically, so exactly one process reports each of them.
_LUA_SWEEP = (
    _LUA_COMMON
    + """
local now = tonumber(ARGV[2])
local gone = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', p .. 'online', '-inf', now)) do
  local conns = p .. 'conns:' .. user
  redis.call('ZREMRANGEBYSCORE', conns, '-inf', now)
  local live = redis.call('ZRANGE', conns, -1, -1, 'WITHSCORES')
  if #live == 0 then
    redis.call('ZREM', p .. 'online', user)
    table.insert(gone, user)
  else
    redis.call('ZADD', p .. 'online', live[2], user)
  end
end
return result(#gone > 0, now, gone)
"""
)


def _decode(raw: list[Any]) -> tuple[PresenceChange, list[str]]:
    def text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    changed, version, extra = raw
    return PresenceChange(bool(changed), int(text(version))), [text(u) for u in extra]


class RedisStore:
    """Presence in Redis, shared by every process; entries lapse unless refreshed."""

    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        from redis import Redis
        from redis.asyncio import Redis as AsyncRedis

        self.prefix = prefix
        # Async client for the event loop (one store per loop); sync one for request threads.
        self.client = AsyncRedis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.sync_client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._open = self.client.register_script(_LUA_OPEN)
        self._close = self.client.register_script(_LUA_CLOSE)
        self._refresh = self.client.register_script(_LUA_REFRESH)
        self._sweep = self.client.register_script(_LUA_SWEEP)

    def _key_ttl(self) -> int:
        return int(_ttl() * 2) + 1  # the per-user set outlives its newest entry

    async def open(self, user_id: str, conn_id: str, now: float) -> PresenceChange:
        args = [self.prefix, user_id, conn_id, now, now + _ttl(), self._key_ttl()]
        return _decode(await self._open(args=args))[0]

    async def close(self, user_id: str, conn_id: str, now: float) -> PresenceChange:
        return _decode(await self._close(args=[self.prefix, user_id, conn_id, now]))[0]

    async def refresh(self, pairs: list[tuple[str, str]], now: float) -> PresenceChange:
        args: list[Any] = [self.prefix, now, now + _ttl(), self._key_ttl()]
        for user_id, conn_id in pairs:
            args += [user_id, conn_id]
        return _decode(await self._refresh(args=args))[0]

    async def sweep(self, now: float) -> tuple[list[str], PresenceChange]:
        change, gone = _decode(await self._sweep(args=[self.prefix, now]))
        return gone, change

    async def boot_id(self) -> str:
        """Changes whenever redis-server restarts (its pub/sub subscriptions were lost)."""
        return str((await self.client.info("server"))["run_id"])

    def online_ids(self, now: float) -> set[str]:
        raw = self.sync_client.zrangebyscore(f"{self.prefix}online", f"({now}", "+inf")
        return {item.decode() for item in raw}

    async def online_list(self, now: float) -> tuple[list[str], int]:
        """Everyone online and the list's version (for sockets that want the whole list)."""
        async with self.client.pipeline(transaction=True) as pipe:
            raw, version = await (
                pipe.zrangebyscore(f"{self.prefix}online", f"({now}", "+inf")
                .get(f"{self.prefix}version")
                .execute()
            )
        return sorted(item.decode() for item in raw), int(version or 0)

    async def online_among(self, user_ids: list[str], now: float) -> set[str]:
        """Which of these users are online: one command, O(len(user_ids))."""
        if not user_ids:
            return set()
        scores = await self.client.zmscore(f"{self.prefix}online", user_ids)
        return {uid for uid, score in zip(user_ids, scores, strict=True) if score and score > now}

    async def aclose(self) -> None:
        await self.client.aclose()
        self.sync_client.close()


Store = LocalStore | RedisStore

_local_store = LocalStore()
_sync_stores: dict[str, RedisStore] = {}  # by URL, for request threads
_sync_stores_lock = threading.Lock()


def _new_store() -> Store:
    return RedisStore(settings.REDIS_URL) if settings.REDIS_URL else _local_store


SocketClose = Callable[[int], Awaitable[None]]


class _Tracker:
    """This process's sockets and the heartbeat that keeps them (and presence) fresh."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # socket id (its channel name) -> (user id, how to close that socket)
        self.sockets: dict[str, tuple[str, SocketClose]] = {}
        self.heartbeat: asyncio.Task[None] | None = None
        self.boot: str | None = None

    def ensure_heartbeat(self) -> None:
        # In-process presence has nothing to refresh and no other process to outlive.
        if isinstance(self.store, RedisStore) and (self.heartbeat is None or self.heartbeat.done()):
            self.heartbeat = asyncio.get_running_loop().create_task(self._beat_forever())

    def stop_heartbeat(self) -> None:
        if self.heartbeat is not None and not self.sockets:
            self.heartbeat.cancel()
            self.heartbeat = None
            # No socket left to protect: a Redis restart from now on concerns only sockets
            # opened after it, which the next open records afresh.
            self.boot = None

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(float(settings.PRESENCE_HEARTBEAT))
            try:
                await self.beat()
            except Exception:  # Redis down: keep beating, entries re-appear when it's back
                logger.warning("presence heartbeat failed", exc_info=True)

    async def online_list(self) -> tuple[list[str], int]:
        return await self.store.online_list(_now())

    async def beat(self, now: float | None = None) -> None:
        """Refresh this process's sockets, take lapsed users offline, notice Redis restarts."""
        now = _now() if now is None else now
        boot = await self.store.boot_id()
        restarted = self.boot is not None and boot != self.boot
        self.boot = boot
        pairs = [(user_id, socket_id) for socket_id, (user_id, _) in self.sockets.items()]
        change = await self.store.refresh(pairs, now)
        gone, _ = await self.store.sweep(now)
        if change.changed or gone:
            await realtime.online_users_broadcast(self.online_list)
        for user_id in gone:
            await _went_offline(user_id)
        if restarted:
            # Events published while Redis was away never reached these sockets: make the
            # clients reconnect and catch up over REST (API.md: "After any disconnect ...").
            # Closed directly, not through Redis, whose subscriptions may not be back yet.
            for _, close in list(self.sockets.values()):
                await close(realtime.CLOSE_RECONNECT)


_trackers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Tracker] = (
    weakref.WeakKeyDictionary()
)


def _tracker() -> _Tracker:
    loop = asyncio.get_running_loop()
    tracker = _trackers.get(loop)
    if tracker is None:
        tracker = _trackers[loop] = _Tracker(_new_store())
    return tracker


def _last_seen_store(user_id: str) -> str | None:
    """A writer job: the moment this user was last seen, stored; its ISO time."""
    from accounts.models import User
    from accounts.selectors import iso
    from chatproject.ids import parse_pk

    pk = parse_pk(User, user_id)
    now = timezone.now()
    if pk is not None:
        User.objects.filter(pk=pk).update(last_seen=now)
    return iso(now)


# Contacts (people who share a conversation) per user, for a few seconds: an arrival and the
# arriving socket's own first list need them both, and a connect storm asks again and again.
CONTACTS_TTL = 10.0
_contacts: dict[str, tuple[float, list[str]]] = {}


async def presence_contacts(user_id: str) -> list[str]:
    """Ids of the people who share a conversation with `user_id` (cached briefly)."""
    from messaging.selectors import contact_ids
    from messaging.writer import aread

    now = time.monotonic()
    cached = _contacts.get(user_id)
    if cached is not None and now - cached[0] < CONTACTS_TTL:
        return await _unblocked(user_id, cached[1])
    contacts = [str(pk) for pk in await aread(contact_ids, user_id)]
    if len(_contacts) > 50_000:
        _contacts.clear()
    _contacts[user_id] = (now, contacts)
    return await _unblocked(user_id, contacts)


async def _unblocked(user_id: str, others: list[str]) -> list[str]:
    """`others` without anyone in a block with `user_id` (the block cache: applies at once,
    whatever this module cached)."""
    from safety.cache import ablocks_of

    blocked = (await ablocks_of(user_id)).either
    return [u for u in others if u not in blocked] if blocked else others


def presence_contacts_forget(user_ids: list[str]) -> None:
    """Their conversations changed: read their contacts afresh next time (this process)."""
    for user_id in user_ids:
        _contacts.pop(user_id, None)


async def presence_introduce(first: str, second: str) -> None:
    """Two people just started a conversation: each hears at once whether the other is online
    (before, neither was the other's business), and later changes reach them both."""
    for user_id in (first, second):
        _contacts.pop(user_id, None)
    try:
        online = await _tracker().store.online_among([first, second], _now())
    except Exception:  # presence store away: their next arrival tells them
        logger.warning("presence: could not introduce %s and %s", first, second, exc_info=True)
        return
    for me, other in ((first, second), (second, first)):
        if other in online:
            await realtime.notify_users_now([me], "userOnline", {"userId": other})


async def presence_introduce_members(newcomers: list[str], members: list[str]) -> None:
    """People just joined a group (all of it, when it is new): each newcomer hears which of the
    members is online, and the members hear which newcomer is (one event per pair at most)."""
    everyone = sorted(set(members) | set(newcomers))
    for user_id in everyone:
        _contacts.pop(user_id, None)
    try:
        online = set(await _tracker().store.online_among(everyone, _now()))
    except Exception:  # presence store away: their next arrival tells them
        logger.warning("presence: could not introduce %d members", len(everyone), exc_info=True)
        return
    new = set(newcomers)
    for user_id in sorted(online):
        # A newcomer is news to everyone; an old member only to the newcomers.
        told = [u for u in everyone if u != user_id and (user_id in new or u in new)]
        told = await _unblocked(user_id, told)
        await realtime.notify_users_now(told, "userOnline", {"userId": user_id})


async def _tell_contacts(user_id: str, event: str, data: dict[str, Any]) -> None:
    try:
        contacts = await presence_contacts(user_id)
    except Exception:  # database busy or away: presence is a hint, the next change corrects it
        logger.warning("presence: could not read %s's contacts", user_id, exc_info=True)
        return
    await realtime.notify_users_now(contacts, event, data)


async def _went_offline(user_id: str) -> None:
    from messaging.writer import awrite

    try:
        last_seen = await awrite(_last_seen_store, user_id)
    except Exception:
        logger.warning("presence: could not store lastSeen for %s", user_id, exc_info=True)
        last_seen = None
    await _tell_contacts(user_id, "userOffline", {"userId": user_id, "lastSeen": last_seen})


async def presence_socket_open(user_id: str, socket_id: str, close: SocketClose) -> PresenceChange:
    """Count a new socket; when the user just came online, their contacts hear `userOnline`.

    `close(code)` closes this socket; presence calls it when the socket may have missed events.
    """
    tracker = _tracker()
    tracker.sockets[socket_id] = (user_id, close)
    tracker.ensure_heartbeat()
    change = await tracker.store.open(user_id, socket_id, _now())
    if tracker.boot is None and isinstance(tracker.store, RedisStore):
        tracker.boot = await tracker.store.boot_id()
    if change.changed:
        await realtime.online_users_broadcast(tracker.online_list)
        await _tell_contacts(user_id, "userOnline", {"userId": user_id})
    return change


async def presence_socket_close(user_id: str, socket_id: str) -> None:
    """Forget a socket; when it was the user's last one, store lastSeen and tell contacts."""
    tracker = _tracker()
    tracker.sockets.pop(socket_id, None)
    tracker.stop_heartbeat()
    try:
        change = await tracker.store.close(user_id, socket_id, _now())
    except Exception:  # Redis away: the entry lapses after PRESENCE_TTL and a sweep reports it
        logger.warning("presence: could not record a closed socket", exc_info=True)
        return
    if change.changed:
        await realtime.online_users_broadcast(tracker.online_list)
        await _went_offline(user_id)


async def presence_first_list(user_id: str, *, whole: bool) -> tuple[list[str], int]:
    """What a new socket is told first (`getOnlineUsers`): the whole online list for the seed's
    client, otherwise the user's contacts who are online (then `userOnline`/`userOffline`)."""
    tracker = _tracker()
    if whole:
        return await tracker.store.online_list(_now())
    contacts = await presence_contacts(user_id)
    online = await tracker.store.online_among(contacts, _now())
    return sorted(online), 0


def presence_online_ids() -> set[str]:
    """Ids of the users with at least one open socket (for the users list and stats)."""
    url = settings.REDIS_URL
    if not url:
        return _local_store.online_ids(_now())
    with _sync_stores_lock:
        store = _sync_stores.get(url) or _sync_stores.setdefault(url, RedisStore(url))
    try:
        return store.online_ids(_now())
    except Exception:  # Redis away: show everyone offline rather than fail the page
        logger.warning("presence unavailable", exc_info=True)
        return set()


def presence_local_reset() -> None:
    """Forget in-process presence (tests: each starts with nobody online)."""
    global _local_store
    _local_store = LocalStore()
    _trackers.clear()
    _contacts.clear()
