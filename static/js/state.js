// What the chat page knows: conversations (direct and group) keyed by conversation id, the
// people met in them, presence and typing. No DOM here; the views read this and re-render.

import { compareIds } from "./ids.js";

const TYPING_EXPIRES = 6_000; // ms; the server's typing event also expires by itself

/** Newest activity first, then by name. */
function byRecent(a, b) {
  const x = a.activityAt || "";
  const y = b.activityAt || "";
  if (x !== y) return x < y ? 1 : -1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Order of a conversation's messages: by seq (ids may not follow writes across processes). */
function byPlace(a, b) {
  if (a._id && b._id) {
    if (a.seq !== undefined && b.seq !== undefined && a.seq !== b.seq) return a.seq - b.seq;
    return compareIds(a._id, b._id);
  }
  // An unsent message stays after what we held when it was written and before what arrived
  // later (a failed send never sinks below newer messages); unsent ones keep their order.
  const x = placeOf(a);
  const y = placeOf(b);
  return x === y ? 0 : x < y ? -1 : 1;
}

function placeOf(message) {
  if (message._id) return message.seq ?? 0;
  return (message.afterSeq ?? Number.MAX_SAFE_INTEGER) + 0.5;
}

export class Conversation {
  constructor(id) {
    this.id = id;
    this.kind = "direct";
    this.title = "";
    this.picture = null;
    this.createdBy = null;
    this.createdAt = "";
    this.peerId = null; // the other person of a direct conversation
    this.memberCount = 0;
    this.role = "member"; // mine
    this.active = true; // false once I left or was removed: read-only
    this.lastSeq = 0;
    this.lastMessage = null;
    this.activityAt = "";
    this.unreadCount = 0;
    this.muted = false; // mine: no notifications, a quiet count (conversation-menu.js)
    this.readSeq = 0; // how far I have told the server I read
    this.members = new Map(); // userId -> member (role, leftAt, readSeq, deliveredSeq, ...)
    this.detailLoaded = false; // members come from GET /api/conversations/<id>
    this.detailStale = true;

    this.messages = []; // by seq; unsent ones (no _id yet) at the end
    this.loaded = false; // the newest page has been fetched
    this.hasMore = true; // older pages may exist
    this.loadingOlder = false;
    // The newest message up to which we surely hold everything: its id (the `after=` cursor;
    // "" for a conversation that was empty, null until loaded) and its seq. Only a REST page or
    // an unbroken run of seqs moves it, never a live frame on its own: a frame that doesn't
    // follow it means something was lost in between (docs/REALTIME.md, "Gaps").
    this.syncedUpTo = null;
    this.syncedSeq = 0;
    this.gap = false; // we may be missing messages after syncedUpTo: catch up before trusting it
  }

  get isGroup() {
    return this.kind === "group";
  }

  /** Take the server's shape (sidebar row, detail, conversationCreated). */
  update(shape, me) {
    this.kind = shape.kind || this.kind;
    this.title = shape.title || "";
    this.picture = shape.picture || null;
    this.createdBy = shape.createdBy || null;
    this.createdAt = shape.createdAt || this.createdAt;
    if (shape.role) this.role = shape.role;
    if (typeof shape.active === "boolean") this.active = shape.active;
    if (typeof shape.muted === "boolean") this.muted = shape.muted;
    if (shape.peer) this.peerId = shape.peer._id;
    if (typeof shape.memberCount === "number") this.memberCount = shape.memberCount;
    if (Array.isArray(shape.members)) {
      this.members = new Map(shape.members.map((m) => [m.userId, { ...m }]));
      this.memberCount = this.activeMemberIds().length;
      this.detailLoaded = true;
      this.detailStale = false;
      if (!this.peerId && this.kind === "direct") {
        this.peerId = shape.members.map((m) => m.userId).find((id) => id !== me) || null;
      }
      const mine = this.members.get(me);
      if (mine) {
        this.role = mine.role;
        this.active = !mine.leftAt;
        this.readSeq = Math.max(this.readSeq, mine.readSeq || 0);
      }
    }
    if (typeof shape.lastSeq === "number") {
      if (shape.lastSeq >= this.lastSeq) {
        // The server knows at least as much as we do: its counts are the truth.
        this.lastSeq = shape.lastSeq;
        this.lastMessage = shape.lastMessage || null;
        this.unreadCount = shape.unreadCount || 0;
        this.activityAt = shape.lastActivityAt || this.activityAt;
        const unread = this.unreadCount;
        this.readSeq = Math.max(this.readSeq, unread ? this.lastSeq - unread : this.lastSeq);
        // We read it all here a moment ago: an answer computed before our read arrived is stale.
        if (this.readSeq >= this.lastSeq) this.unreadCount = 0;
      } else {
        // Messages arrived live after the server answered: keep them, count them on top.
        const fresh = this.messages.filter((m) => m._id && m.seq > shape.lastSeq && m.senderId !== me);
        this.unreadCount = (shape.unreadCount || 0) + fresh.length;
      }
    }
    if (!this.activityAt) this.activityAt = shape.lastActivityAt || shape.createdAt || "";
  }

  activeMemberIds() {
    return [...this.members.values()].filter((m) => !m.leftAt).map((m) => m.userId);
  }

  /** A REST page confirmed everything up to this message (null: the conversation is empty). */
  confirm(message) {
    if (!message) {
      if (this.syncedUpTo === null) this.syncedUpTo = "";
      this.link();
      return;
    }
    if (this.syncedUpTo && message.seq <= this.syncedSeq) return;
    this.syncedUpTo = message._id;
    this.syncedSeq = message.seq;
    this.link();
  }

  /**
   * Follow the seqs of the messages we hold from syncedUpTo. Returns true when we hold a
   * message that doesn't follow it, i.e. something before that message is missing.
   */
  link() {
    if (this.syncedUpTo === null) return false;
    const newer = this.messages.filter((m) => m._id && m.seq > this.syncedSeq);
    let linked = 0;
    for (const message of newer) {
      const follows =
        message.seq === this.syncedSeq + 1 ||
        (message.prevId !== undefined && (message.prevId || "") === this.syncedUpTo);
      if (!follows) break;
      this.syncedUpTo = message._id;
      this.syncedSeq = message.seq;
      linked += 1;
    }
    return linked < newer.length;
  }

  get oldestServerId() {
    const first = this.messages.find((m) => m._id);
    return first ? first._id : null;
  }

  get newestServer() {
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      if (this.messages[i]._id) return this.messages[i];
    }
    return null;
  }

  get last() {
    return this.messages[this.messages.length - 1] || null;
  }

  find(predicate) {
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      if (predicate(this.messages[i])) return i;
    }
    return -1;
  }

  /** Insert or merge a message; true when it was not here before. */
  upsert(message) {
    const index = this.find(
      (m) =>
        (message._id && m._id === message._id) ||
        (message.clientId && m.clientId === message.clientId && m.senderId === message.senderId),
    );
    if (index < 0) {
      this.messages.push(message);
      this.messages.sort(byPlace);
      return true;
    }
    const old = this.messages[index];
    const merged = { ...old, ...message };
    // Receipts only move forward: an older copy of the message must not undo them.
    merged.deliveredAt = message.deliveredAt || old.deliveredAt || null;
    merged.readAt = message.readAt || old.readAt || null;
    if (message._id) {
      delete merged.status;
      delete merged.error;
    }
    this.messages[index] = merged;
    this.messages.sort(byPlace);
    return false;
  }

  /** Members other than `me` whose `kind` cursor ("readSeq"/"deliveredSeq") reached `seq`. */
  reachedBy(seq, me, cursor = "readSeq") {
    const ids = [];
    for (const member of this.members.values()) {
      if (member.userId !== me && (member[cursor] || 0) >= seq) ids.push(member.userId);
    }
    return ids;
  }
}

export class Store {
  constructor(me) {
    this.me = me;
    this.users = new Map([[me._id, me]]); // everyone met: peers, members, the people list
    this.online = new Set();
    this.typing = new Map(); // "conversationId userId" -> expiry timer
    this.conversations = new Map();
    this.activeId = null;
    this.loaded = false; // the first sidebar answer came
    this.people = null; // GET /api/messages/users once asked for (new chat, new group)
    this.blocked = new Set(); // ids of the people I block (conversation-menu.js keeps it)
  }

  isMine(message) {
    return message.senderId === this.me._id;
  }

  conversation(id) {
    let conversation = this.conversations.get(id);
    if (!conversation) {
      conversation = new Conversation(id);
      this.conversations.set(id, conversation);
    }
    return conversation;
  }

  /** A user shape from anywhere (peer, member, people list): remember the newest. */
  rememberUser(user) {
    if (!user || !user._id) return;
    const known = this.users.get(user._id);
    this.users.set(user._id, known ? { ...known, ...user } : { ...user });
  }

  name(userId, { you = false } = {}) {
    if (userId === this.me._id) return you ? "You" : this.me.fullName;
    const user = this.users.get(userId);
    return user ? user.fullName : "Someone";
  }

  /** Merge a conversation shape from the API or an event; returns the conversation. */
  upsertConversation(shape) {
    const conversation = this.conversation(shape._id);
    if (shape.peer) this.rememberUser(shape.peer);
    for (const member of shape.members || []) this.rememberUser(member.user);
    conversation.update(shape, this.me._id);
    return conversation;
  }

  /** The sidebar from the server: the truth after any disconnect. Returns conversations whose
   * history we hold but that have moved on since (to catch up). */
  setConversations(list) {
    const seen = new Set();
    const behind = [];
    for (const shape of list) {
      seen.add(shape._id);
      const conversation = this.upsertConversation(shape);
      if (conversation.loaded && conversation.lastSeq > conversation.syncedSeq) {
        conversation.gap = true;
        behind.push(conversation);
      }
      if (conversation.loaded || conversation.detailLoaded) conversation.detailStale = true;
    }
    for (const id of [...this.conversations.keys()]) {
      if (!seen.has(id) && id !== this.activeId) this.conversations.delete(id);
    }
    this.loaded = true;
    return behind;
  }

  /** Conversations for the sidebar: an empty direct one someone else opened isn't news. */
  sorted() {
    return [...this.conversations.values()]
      .filter(
        (c) =>
          c.kind === "group" ||
          c.lastMessage ||
          c.messages.length ||
          c.createdBy === this.me._id ||
          c.id === this.activeId,
      )
      // Someone I block: their chat leaves the list (while I look at it, it stays).
      .filter((c) => c.isGroup || !this.blocked.has(c.peerId) || c.id === this.activeId)
      .sort(byRecent);
  }

  directWith(userId) {
    for (const conversation of this.conversations.values()) {
      if (conversation.kind === "direct" && conversation.peerId === userId) return conversation;
    }
    return null;
  }

  onlineCount() {
    let count = 0;
    for (const id of this.online) if (id !== this.me._id && this.users.has(id)) count += 1;
    return count;
  }

  totalUnread() {
    let total = 0;
    for (const conversation of this.conversations.values()) {
      if (!conversation.muted) total += conversation.unreadCount; // muted: quiet in the title
    }
    return total;
  }

  /** Presence from the server; people who just left get "last seen now". */
  setOnline(ids) {
    const next = new Set(ids.map(String));
    const now = new Date().toISOString();
    for (const id of this.online) {
      const user = this.users.get(id);
      if (!next.has(id) && user) user.lastSeen = now;
    }
    for (const id of next) {
      const user = this.users.get(id);
      if (user) user.lastSeen = null;
    }
    this.online = next;
  }

  /** Someone we share a conversation with came online (true) or left. */
  setPresence(userId, online, lastSeen = null) {
    const id = String(userId);
    if (online) this.online.add(id);
    else this.online.delete(id);
    const user = this.users.get(id);
    if (user) user.lastSeen = online ? null : lastSeen || new Date().toISOString();
  }

  setTyping(conversationId, userId, isTyping, onExpire) {
    const key = `${conversationId} ${userId}`;
    clearTimeout(this.typing.get(key));
    this.typing.delete(key);
    if (!isTyping) return;
    this.typing.set(
      key,
      setTimeout(() => {
        this.typing.delete(key);
        onExpire();
      }, TYPING_EXPIRES),
    );
  }

  /** Who is typing in this conversation (user ids, in the order they started). */
  typingIn(conversationId) {
    const ids = [];
    for (const key of this.typing.keys()) {
      const [cid, uid] = key.split(" ");
      if (cid === conversationId) ids.push(uid);
    }
    return ids;
  }

  /** Our own message before the server has it. */
  addLocal(message) {
    const conversation = this.conversation(message.conversationId);
    if (message.afterSeq === undefined) message.afterSeq = conversation.lastSeq || 0;
    conversation.upsert(message);
    conversation.activityAt = message.createdAt;
  }

  /** Drop our own unsent message (the person discarded it). */
  removeLocal(clientId) {
    for (const conversation of this.conversations.values()) {
      const index = conversation.find((m) => m.clientId === clientId && !m._id && this.isMine(m));
      if (index >= 0) {
        conversation.messages.splice(index, 1);
        return conversation;
      }
    }
    return null;
  }

  updateLocal(message, changes) {
    const conversation = this.conversation(message.conversationId);
    const index = conversation.find((m) => m.clientId === message.clientId && this.isMine(m));
    if (index >= 0 && !conversation.messages[index]._id) {
      Object.assign(conversation.messages[index], changes);
    }
  }

  /**
   * A saved message from the API or the socket (maybe seen before).
   * Returns {conversation, incoming, added, newest, known, sidebarGap}: `added` when we did not
   * hold it, `newest` when it is the conversation's latest (counted once as unread), `known`
   * false for a conversation the sidebar doesn't have yet, `sidebarGap` when the sidebar's
   * last message isn't its predecessor (the counts are stale).
   */
  applyMessage(message) {
    const incoming = !this.isMine(message);
    const conversation = this.conversations.get(message.conversationId);
    if (!conversation) return { conversation: null, incoming, added: false, known: false };
    const added = conversation.upsert(message);
    const newer = message.seq > conversation.lastSeq;
    const follows = message.seq === conversation.lastSeq + 1;
    const sidebarGap = newer && this.loaded && !follows;
    if (newer) {
      conversation.lastSeq = message.seq;
      conversation.lastMessage = message;
      conversation.activityAt = message.createdAt;
      if (incoming) conversation.unreadCount += 1;
      // My own message right after what I had read is no news; after a gap, what's in the gap
      // may be (it is counted when the sidebar comes).
      else if (!conversation.unreadCount && follows && conversation.readSeq >= message.seq - 1) {
        conversation.readSeq = message.seq;
      }
    } else if (conversation.lastMessage && conversation.lastMessage._id === message._id) {
      conversation.lastMessage = { ...conversation.lastMessage, ...message };
    }
    return { conversation, incoming, added, newest: newer, known: true, sidebarGap };
  }

  /**
   * Mark the conversation read, locally. Returns the id to report to the server (its newest
   * message) or null when there is nothing new to report.
   */
  markRead(conversationId) {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || !conversation.active) return null;
    const newest = conversation.newestServer;
    const unread = conversation.unreadCount > 0;
    conversation.unreadCount = 0;
    if (!newest || (!unread && newest.seq <= conversation.readSeq)) return null;
    conversation.readSeq = Math.max(conversation.readSeq, newest.seq);
    return newest._id;
  }

  /** Someone's delivered/read cursor moved (`messagesDelivered`, `messagesRead`, `cursorMoved`). */
  moveCursor({ conversationId, userId, kind, seq, at }) {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || typeof seq !== "number") return null;
    const fields = kind === "read" ? ["read", "delivered"] : ["delivered"];
    let member = conversation.members.get(userId);
    if (!member) {
      member = { userId, role: "member", readSeq: 0, deliveredSeq: 0 };
      conversation.members.set(userId, member);
    }
    for (const field of fields) {
      if ((member[`${field}Seq`] || 0) < seq) {
        member[`${field}Seq`] = seq;
        member[`${field}At`] = at;
      }
    }
    if (userId === this.me._id && kind === "read") {
      // Another tab of mine read it.
      conversation.readSeq = Math.max(conversation.readSeq, seq);
      if (seq >= conversation.lastSeq) conversation.unreadCount = 0;
    }
    return conversation;
  }
}
