// What the chat page knows: people, presence, typing and the conversations loaded so far.
// No DOM here; the views read this and re-render.

import { compareIds } from "./ids.js";

const TYPING_EXPIRES = 6_000; // ms; the server's typing event also expires by itself

/** Newest first by last message, then people never talked to, by name. */
function byRecent(a, b) {
  const x = a.lastActivity || "";
  const y = b.lastActivity || "";
  if (x !== y) return x < y ? 1 : -1;
  return a.fullName.localeCompare(b.fullName);
}

export class Conversation {
  constructor(peerId) {
    this.peerId = peerId;
    this.messages = []; // oldest first; unsent ones (no _id yet) at the end
    this.loaded = false; // the newest page has been fetched
    this.hasMore = true; // older pages may exist
    this.loadingOlder = false;
    // The newest id up to which we surely hold every message ("" for an empty conversation,
    // null until loaded). Only a REST page or an unbroken chain of `prevId`s moves it, never
    // a live frame on its own: a frame whose `prevId` doesn't link to it means something was
    // lost in between (docs/REALTIME.md, "Gaps").
    this.syncedUpTo = null;
    this.gap = false; // we may be missing messages after syncedUpTo: catch up before trusting it
  }

  /** A REST page confirmed everything up to `id` (null/"": the conversation is empty). */
  confirm(id) {
    if (id && this.syncedUpTo && compareIds(id, this.syncedUpTo) <= 0) return;
    this.syncedUpTo = id || this.syncedUpTo || "";
    this.link();
  }

  /**
   * Follow the `prevId` chain of the messages we hold from syncedUpTo. Returns true when we hold
   * a message that doesn't link to it, i.e. something before that message is missing.
   */
  link() {
    if (this.syncedUpTo === null) return false;
    const newer = [];
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      const message = this.messages[i];
      if (!message._id) continue;
      if (this.syncedUpTo !== "" && compareIds(message._id, this.syncedUpTo) <= 0) break;
      newer.push(message);
    }
    newer.reverse();
    let linked = 0;
    for (const message of newer) {
      if (message.prevId === undefined || (message.prevId || "") !== this.syncedUpTo) break;
      this.syncedUpTo = message._id;
      linked += 1;
    }
    return linked < newer.length;
  }

  get lastServerId() {
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      if (this.messages[i]._id) return this.messages[i]._id;
    }
    return null;
  }

  get oldestServerId() {
    const first = this.messages.find((m) => m._id);
    return first ? first._id : null;
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
      this.#sort();
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
    this.#sort();
    return false;
  }

  #sort() {
    this.messages.sort((a, b) => {
      if (a._id && b._id) return compareIds(a._id, b._id);
      return a._id ? -1 : b._id ? 1 : 0; // stable: unsent keep their order
    });
  }
}

export class Store {
  constructor(me) {
    this.me = me;
    this.users = new Map();
    this.online = new Set();
    this.typing = new Map(); // userId -> expiry timer
    this.conversations = new Map();
    this.activeId = null;
    this.usersLoaded = false;
  }

  isMine(message) {
    return message.senderId === this.me._id;
  }

  peerOf(message) {
    return this.isMine(message) ? message.receiverId : message.senderId;
  }

  conversation(peerId) {
    let conversation = this.conversations.get(peerId);
    if (!conversation) {
      conversation = new Conversation(peerId);
      this.conversations.set(peerId, conversation);
    }
    return conversation;
  }

  /** Replace the people list with the server's (it is the truth after any disconnect). */
  setUsers(list) {
    const next = new Map();
    for (const user of list) {
      if (user._id === this.me._id) continue;
      next.set(user._id, { ...user, unreadCount: user.unreadCount || 0 });
    }
    this.users = next;
    this.usersLoaded = true;
    for (const user of this.users.values()) this.#touch(user);
  }

  /** The newest message with this person: a pending send beats the last saved one. */
  lastMessageWith(user) {
    const conversation = this.conversations.get(user._id);
    const local = conversation ? conversation.last : null;
    const saved = user.lastMessage || null;
    if (!local) return saved;
    if (!saved || !local._id) return local;
    return compareIds(local._id, saved._id) >= 0 ? local : saved;
  }

  #touch(user) {
    const last = this.lastMessageWith(user);
    user.lastActivity = last ? last.createdAt : "";
  }

  sortedUsers() {
    return [...this.users.values()].sort(byRecent);
  }

  onlineCount() {
    let count = 0;
    for (const id of this.users.keys()) if (this.online.has(id)) count += 1;
    return count;
  }

  totalUnread() {
    let total = 0;
    for (const user of this.users.values()) total += user.unreadCount || 0;
    return total;
  }

  /** Presence from the server; people who just left get "last seen now". Returns unknown ids. */
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
    return [...next].filter((id) => id !== this.me._id && !this.users.has(id));
  }

  /** Someone we share a conversation with came online (true) or left; false if unknown. */
  setPresence(userId, online, lastSeen = null) {
    const id = String(userId);
    if (online) this.online.add(id);
    else this.online.delete(id);
    const user = this.users.get(id);
    if (!user) return false;
    user.lastSeen = online ? null : lastSeen || new Date().toISOString();
    return true;
  }

  setTyping(userId, isTyping, onExpire) {
    clearTimeout(this.typing.get(userId));
    this.typing.delete(userId);
    if (!isTyping) return;
    this.typing.set(
      userId,
      setTimeout(() => {
        this.typing.delete(userId);
        onExpire();
      }, TYPING_EXPIRES),
    );
  }

  isTyping(userId) {
    return this.typing.has(userId);
  }

  /** Our own message before the server has it. */
  addLocal(message) {
    const peerId = message.receiverId;
    this.conversation(peerId).upsert(message);
    const user = this.users.get(peerId);
    if (user) this.#touch(user);
  }

  updateLocal(message, changes) {
    const conversation = this.conversation(message.receiverId);
    const index = conversation.find((m) => m.clientId === message.clientId && this.isMine(m));
    if (index >= 0 && !conversation.messages[index]._id) {
      Object.assign(conversation.messages[index], changes);
    }
  }

  /**
   * A saved message from the API or the socket (maybe seen before).
   * Returns {peerId, incoming, added, newest, known}: `added` when the open conversation did not
   * have it, `newest` when it is the latest with that person (counted once as unread).
   */
  applyMessage(message) {
    const incoming = !this.isMine(message);
    const peerId = this.peerOf(message);
    const addedHere = this.conversation(peerId).upsert(message);
    const user = this.users.get(peerId);
    if (!user) return { peerId, incoming, added: addedHere, newest: addedHere, known: false };
    const previous = user.lastMessage;
    const newer = !previous || compareIds(message._id, previous._id) > 0;
    // The sidebar's last message should be this one's predecessor; if not, its counts are stale.
    const sidebarGap =
      newer && message.prevId !== undefined && (message.prevId || null) !== (previous ? previous._id : null);
    if (newer) user.lastMessage = message;
    else if (previous._id === message._id) user.lastMessage = { ...previous, ...message };
    if (incoming && newer) user.unreadCount = (user.unreadCount || 0) + 1;
    this.#touch(user);
    return { peerId, incoming, added: addedHere, newest: newer, known: true, sidebarGap };
  }

  /**
   * Mark what this person sent us as read, locally. Returns the id to report to the server
   * (the newest message from them) or null when there is nothing unread.
   */
  markRead(peerId) {
    const conversation = this.conversations.get(peerId);
    const user = this.users.get(peerId);
    if (!conversation) return null;
    const now = new Date().toISOString();
    let upTo = null;
    let unread = Boolean(user && user.unreadCount);
    for (const message of conversation.messages) {
      if (message.senderId !== peerId || !message._id) continue;
      upTo = message._id;
      if (!message.readAt) {
        message.readAt = now;
        unread = true;
      }
    }
    if (user) user.unreadCount = 0;
    return unread ? upTo : null;
  }

  /** Receipts for our messages to `peerId`: field is "deliveredAt" or "readAt". */
  markOutgoing(peerId, upTo, at, field) {
    const stamp = (message) => {
      if (!message || !message._id || !this.isMine(message) || message.receiverId !== peerId) return;
      if (compareIds(message._id, upTo) > 0) return;
      if (!message[field]) message[field] = at;
      if (field === "readAt" && !message.deliveredAt) message.deliveredAt = at;
    };
    const conversation = this.conversations.get(peerId);
    if (conversation) conversation.messages.forEach(stamp);
    const user = this.users.get(peerId);
    if (user) stamp(user.lastMessage);
  }
}
