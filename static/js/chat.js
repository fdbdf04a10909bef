// The chat page: wires the socket, the API, the store and the views together.

import { api, redirectToLogin } from "./api.js";
import { Composer } from "./composer.js";
import { ConversationView } from "./conversation.js";
import { $, readJson, setText } from "./dom.js";
import {
  enableNotifications,
  notificationsEnabled,
  notificationsSupported,
  notify,
  setTitleCount,
} from "./notify.js";
import { Outbox } from "./outbox.js";
import { Sidebar } from "./sidebar.js";
import { ChatSocket } from "./socket.js";
import { Store } from "./state.js";

const PAGE = 50;
const CATCH_UP_PAGE = 100;
const PHONE = window.matchMedia("(max-width: 760px)");

const boot = readJson("boot-data");
const store = new Store(boot.me);
const socket = new ChatSocket();
const chat = $("#main");
const announcer = $("#announcer");

const sidebar = new Sidebar(store, {
  defaultAvatar: boot.defaultAvatar,
  onSelect: (peerId) => openConversation(peerId),
  onRetry: () => loadUsers(),
});
const view = new ConversationView(store, {
  defaultAvatar: boot.defaultAvatar,
  onLoadOlder: (peerId) => loadOlder(peerId),
  onRetry: (clientId) => outbox.retry(clientId),
  onBack: () => goBack(),
});
const composer = new Composer({
  maxBytes: boot.imageMaxBytes,
  onSend: (peerId, message) => outbox.send(peerId, message),
  onTyping: (peerId, isTyping) => socket.send("typing", { to: peerId, isTyping }),
});
const outbox = new Outbox(store, {
  socket,
  onChange: (peerId, { own }) => {
    // Our own send's answer names its predecessor too: it can reveal a lost frame.
    if (store.conversation(peerId).link()) onGap(peerId);
    if (peerId === store.activeId) view.renderMessages({ mode: "append", own });
    sidebar.render();
  },
});

// ---------- Loading ----------------------------------------------------------------------------

let usersRequest = null;

/** Fetch the people list (coalesced: many triggers, one request at a time); may reject. */
function fetchUsers() {
  if (!usersRequest) {
    usersRequest = api("GET", "/api/messages/users")
      .then((users) => {
        store.setUsers(users);
        // Receipts sent while we had no socket: the last message's marks cover the earlier ones.
        for (const user of users) {
          const last = user.lastMessage;
          if (!last || last.senderId !== store.me._id) continue;
          if (last.deliveredAt) store.markOutgoing(user._id, last._id, last.deliveredAt, "deliveredAt");
          if (last.readAt) store.markOutgoing(user._id, last._id, last.readAt, "readAt");
        }
        if (store.activeId) view.renderMessages({ mode: "append" });
        sidebar.render();
        view.renderHeader();
        updateTitle();
      })
      .finally(() => {
        usersRequest = null;
      });
  }
  return usersRequest;
}

/** Like fetchUsers, but a failure shows in the sidebar instead of rejecting. */
function loadUsers() {
  return fetchUsers().catch((error) => {
    if (!store.usersLoaded) sidebar.showError(error.message);
  });
}

async function loadLatest(peerId) {
  const conversation = store.conversation(peerId);
  const page = await api("GET", `/api/messages/${encodeURIComponent(peerId)}?limit=${PAGE}`);
  page.forEach((message) => conversation.upsert(message));
  conversation.loaded = true;
  conversation.gap = false;
  conversation.confirm(page.length ? page[page.length - 1]._id : null);
  conversation.hasMore = page.length >= PAGE;
}

async function loadOlder(peerId) {
  const conversation = store.conversation(peerId);
  const before = conversation.oldestServerId;
  if (!conversation.loaded || !conversation.hasMore || conversation.loadingOlder || !before) return;
  conversation.loadingOlder = true;
  view.renderMessages({ mode: "prepend" });
  try {
    const page = await api(
      "GET",
      `/api/messages/${encodeURIComponent(peerId)}?before=${encodeURIComponent(before)}&limit=${PAGE}`,
    );
    page.forEach((message) => conversation.upsert(message));
    conversation.hasMore = page.length >= PAGE;
  } catch {
    // Scrolling up again retries.
  } finally {
    conversation.loadingOlder = false;
    if (store.activeId === peerId) view.renderMessages({ mode: "prepend" });
  }
}

/**
 * Everything after the newest id we are sure of, page after page: nothing missed, nothing
 * twice. The cursor is `syncedUpTo`, never the newest live frame, which may sit past a gap.
 */
async function catchUpConversation(peerId) {
  const conversation = store.conversation(peerId);
  if (conversation.syncedUpTo === null) {
    await loadLatest(peerId);
    return;
  }
  conversation.gap = false;
  for (;;) {
    const after = conversation.syncedUpTo;
    const query = after ? `after=${encodeURIComponent(after)}&` : "";
    let page;
    try {
      page = await api(
        "GET",
        `/api/messages/${encodeURIComponent(peerId)}?${query}limit=${CATCH_UP_PAGE}`,
      );
    } catch (error) {
      if (error.status !== 404) {
        conversation.gap = true;
        throw error;
      }
      // Our cursor message was deleted (moderation): start again from the newest page.
      conversation.messages = conversation.messages.filter((m) => !m._id);
      conversation.syncedUpTo = null;
      conversation.hasMore = true;
      await loadLatest(peerId);
      return;
    }
    if (!after) {
      // The conversation was empty when we loaded it: this is the newest page, oldest first.
      page.forEach((message) => store.applyMessage(message));
      conversation.confirm(page.length ? page[page.length - 1]._id : null);
      conversation.hasMore = page.length >= CATCH_UP_PAGE;
      return;
    }
    page.forEach((message) => store.applyMessage(message));
    if (page.length) conversation.confirm(page[page.length - 1]._id);
    if (page.length < CATCH_UP_PAGE) break;
  }
}

const GAP_GRACE = 300; // ms; frames from two server processes can cross: wait for the missing one
const gapTimers = new Map();

/** A live message didn't link to what we hold: fetch what's missing (the open one at once). */
function onGap(peerId) {
  if (gapTimers.has(peerId)) return;
  gapTimers.set(
    peerId,
    setTimeout(async () => {
      gapTimers.delete(peerId);
      const conversation = store.conversation(peerId);
      if (!conversation.link()) return; // the missing frame arrived meanwhile
      conversation.gap = true;
      if (store.activeId !== peerId) return; // caught up when it is opened
      try {
        await catchUpConversation(peerId);
      } catch {
        return; // the next reconnect or message tries again
      }
      if (store.activeId === peerId) {
        view.renderMessages({ mode: "append" });
        markRead();
      }
    }, GAP_GRACE),
  );
}

let sidebarTimer = null;

/** The sidebar missed a message (its counts and previews are stale): refetch it, once. */
function onSidebarGap() {
  clearTimeout(sidebarTimer);
  sidebarTimer = setTimeout(() => loadUsers(), GAP_GRACE);
}

let catchUpTimer = null;

/**
 * After a disconnect: refresh the people list, then the open conversation. Just after the
 * network returns, requests can still fail for a moment: keep trying while the socket is up.
 */
async function catchUp(attempt = 0) {
  clearTimeout(catchUpTimer);
  // Whatever was sent while we had no socket may be missing from every loaded conversation.
  for (const conversation of store.conversations.values()) {
    if (conversation.loaded) conversation.gap = true;
  }
  const peerId = store.activeId;
  try {
    await fetchUsers();
    if (peerId) await catchUpConversation(peerId);
  } catch {
    if (socket.isOpen) {
      catchUpTimer = setTimeout(() => catchUp(attempt + 1), Math.min(10_000, 500 * 2 ** attempt));
    }
    return;
  }
  if (peerId && store.activeId === peerId) {
    view.renderMessages({ mode: "append" });
    markRead();
  }
}

// ---------- Opening and closing conversations -------------------------------------------------

async function openConversation(peerId, { push = true } = {}) {
  if (!store.users.has(peerId)) return;
  const switching = store.activeId !== peerId;
  store.activeId = peerId;
  chat.dataset.view = "conversation";
  if (push) {
    // One history entry for "in a conversation": Back (the phone's too) returns to the list.
    const url = `?with=${encodeURIComponent(peerId)}`;
    if (history.state && history.state.with) {
      history.replaceState({ with: peerId, pushed: history.state.pushed }, "", url);
    } else history.pushState({ with: peerId, pushed: true }, "", url);
  }
  if (switching) composer.switchTo(peerId);
  view.open(peerId);
  sidebar.render();
  if (!PHONE.matches) composer.focus();

  const conversation = store.conversation(peerId);
  try {
    if (!conversation.loaded) {
      view.showLoading();
      await loadLatest(peerId);
    } else if (conversation.gap) {
      await catchUpConversation(peerId);
    }
  } catch (error) {
    if (store.activeId === peerId) view.showError(error.message);
    return;
  }
  if (store.activeId !== peerId) return; // another one was opened meanwhile
  view.renderMessages({ mode: switching ? "bottom" : "append" });
  markRead();
  sidebar.render();
  updateTitle();
}

function closeConversation() {
  composer.switchTo(null);
  store.activeId = null;
  chat.dataset.view = "list";
  view.close();
  sidebar.render();
  const item = document.querySelector(".person__button[tabindex='0']");
  if (item && PHONE.matches) item.focus();
}

function goBack() {
  if (history.state && history.state.pushed) history.back();
  else {
    history.replaceState(null, "", location.pathname);
    closeConversation();
  }
}

window.addEventListener("popstate", () => {
  const peerId = new URLSearchParams(location.search).get("with");
  if (peerId && store.users.has(peerId)) openConversation(peerId, { push: false });
  else closeConversation();
});

// ---------- Read receipts, title, announcements -----------------------------------------------

function canSeeConversation() {
  return document.visibilityState === "visible" && document.hasFocus();
}

/** Tell the sender we read their messages, only while the conversation is really in view. */
function markRead() {
  const peerId = store.activeId;
  if (!peerId || !canSeeConversation()) return;
  const upTo = store.markRead(peerId);
  if (!upTo) return;
  if (!socket.send("read", { with: peerId, upTo })) {
    api("POST", `/api/messages/${encodeURIComponent(peerId)}/read`, { upTo }).catch(() => {});
  }
  sidebar.render();
  updateTitle();
}

function updateTitle() {
  setTitleCount(store.totalUnread());
}

function announce(text) {
  setText(announcer, text);
}

window.addEventListener("focus", markRead);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    verifyOpenConversation();
    markRead();
  }
});

const VERIFY_EVERY = 30_000; // ms
let lastVerified = 0;

/**
 * A message whose frame was lost and that nothing followed has no successor to reveal the gap:
 * when the person comes back to the tab, ask the server (an empty page when all is well).
 */
async function verifyOpenConversation() {
  const peerId = store.activeId;
  const conversation = peerId ? store.conversations.get(peerId) : null;
  if (!conversation || !conversation.loaded || Date.now() - lastVerified < VERIFY_EVERY) return;
  lastVerified = Date.now();
  try {
    await catchUpConversation(peerId);
  } catch {
    return;
  }
  if (store.activeId === peerId) view.renderMessages({ mode: "append" });
}

// ---------- Socket events -----------------------------------------------------------------------

function onNewMessage(message) {
  const { peerId, incoming, added, newest, known, sidebarGap } = store.applyMessage(message);
  if (!known) loadUsers(); // someone new (just signed up) wrote to us
  else if (sidebarGap) onSidebarGap();
  if (store.conversation(peerId).link()) onGap(peerId);
  const user = store.users.get(peerId);
  if (incoming) store.setTyping(peerId, false);
  if (peerId === store.activeId) {
    view.renderMessages({ mode: "append", newIncoming: incoming && added ? 1 : 0, own: !incoming && added });
    view.renderHeader();
    markRead();
  }
  if (incoming && newest && user) {
    const body = message.text || "Sent a photo";
    const inView = peerId === store.activeId && canSeeConversation();
    announce(peerId === store.activeId ? `${user.fullName}: ${body}` : `New message from ${user.fullName}`);
    if (!inView) {
      notify({
        title: user.fullName,
        body,
        icon: user.profilePic || boot.defaultAvatar,
        tag: `parley-${peerId}`,
        onClick: () => openConversation(peerId),
      });
    }
  }
  sidebar.render();
  updateTitle();
}

socket.addEventListener("newMessage", (event) => onNewMessage(event.detail));

socket.addEventListener("getOnlineUsers", (event) => {
  const unknown = store.setOnline(event.detail || []);
  if (unknown.length) loadUsers();
  sidebar.render();
  view.renderHeader();
});

for (const [name, online] of [
  ["userOnline", true],
  ["userOffline", false],
]) {
  socket.addEventListener(name, (event) => {
    const { userId, lastSeen } = event.detail || {};
    if (!store.setPresence(userId, online, lastSeen)) loadUsers();
    sidebar.render();
    view.renderHeader();
  });
}

socket.addEventListener("typing", (event) => {
  const { userId, isTyping } = event.detail || {};
  const refresh = () => {
    sidebar.render();
    if (userId === store.activeId) view.renderHeader();
  };
  store.setTyping(String(userId), Boolean(isTyping), refresh);
  refresh();
});

for (const [name, field] of [
  ["messagesDelivered", "deliveredAt"],
  ["messagesRead", "readAt"],
]) {
  socket.addEventListener(name, (event) => {
    const { userId, upTo, at } = event.detail || {};
    store.markOutgoing(String(userId), String(upTo), at || new Date().toISOString(), field);
    if (String(userId) === store.activeId) view.renderMessages({ mode: "append" });
    sidebar.render();
  });
}

// Every (re)connection catches up once the server says the socket is subscribed ("ready"):
// whatever was sent while we had no live socket comes from the API, and everything after
// arrives live. Copies of the same message are deduplicated by id.
socket.addEventListener("ready", () => {
  catchUp();
  outbox.flush();
});

// Logging out from the header revokes the token, so the server closes this socket with 4401
// while the form's own navigation is under way: that one must win (it shows "logged out").
let leaving = false;
document.addEventListener("submit", (event) => {
  if (!event.defaultPrevented && event.target.closest("form:not(#composer)")) leaving = true;
});
socket.addEventListener("unauthorized", () => {
  if (!leaving) redirectToLogin();
});

// ---------- Connection banner -------------------------------------------------------------------

const conn = $("#conn-status");
const connText = $("#conn-text");
let connTimer = null;

socket.addEventListener("status", (event) => {
  clearTimeout(connTimer);
  const state = event.detail;
  if (state === "open") {
    if (conn.hidden) return;
    conn.classList.add("conn--ok");
    setText(connText, "Connected");
    connTimer = setTimeout(() => {
      conn.hidden = true;
    }, 2000);
    return;
  }
  const messages = {
    connecting: "Connecting…",
    reconnecting: "Connection lost. Reconnecting…",
    offline: "You're offline. Messages will be sent when you're back.",
  };
  const show = () => {
    conn.classList.remove("conn--ok");
    setText(connText, messages[state] || "Connecting…");
    conn.hidden = false;
  };
  // A quick first connect or a blip shouldn't flash a warning.
  if (state === "offline") show();
  else connTimer = setTimeout(show, 1500);
});

// ---------- Notifications opt-in ----------------------------------------------------------------

const notifyButton = $("#notify-button");
if (notificationsSupported() && Notification.permission !== "denied" && !notificationsEnabled()) {
  notifyButton.hidden = false;
  notifyButton.addEventListener("click", async () => {
    if (await enableNotifications()) notifyButton.hidden = true;
  });
}

// ---------- Start -------------------------------------------------------------------------------

socket.connect();
loadUsers().then(() => {
  const peerId = new URLSearchParams(location.search).get("with");
  if (peerId && store.users.has(peerId)) {
    history.replaceState({ with: peerId, pushed: false }, "", location.search);
    openConversation(peerId, { push: false });
  }
});
