// The chat page: wires the socket, the API, the store and the views together.

import { redirectToLogin } from "./api.js";
import { Composer } from "./composer.js";
import { ConversationView } from "./conversation.js";
import { BLOCKED_READONLY, ConversationMenu } from "./conversation-menu.js";
import { directConversation, markRead as markReadApi } from "./conversations-api.js";
import { $, readJson, setText } from "./dom.js";
import { GroupDetails } from "./group-details.js";
import { MessageActions } from "./message-actions.js";
import { conversationName, firstName, systemText } from "./names.js";
import {
  enableNotifications,
  notificationsEnabled,
  notificationsSupported,
  notify,
  setTitleCount,
} from "./notify.js";
import { Outbox } from "./outbox.js";
import { applyUserUpdated } from "./profile-live.js";
import { plainText } from "./richtext.js";
import { ReceiptsDialog } from "./receipts-dialog.js";
import { MessageSearch } from "./search.js";
import { Sidebar } from "./sidebar.js";
import { ChatSocket } from "./socket.js";
import { NewChatDialog, NewGroupDialog } from "./start-dialogs.js";
import { Store } from "./state.js";
import { Sync } from "./sync.js";

const PHONE = window.matchMedia("(max-width: 760px)");

const boot = readJson("boot-data");
const store = new Store(boot.me);
const sync = new Sync(store);
const socket = new ChatSocket();
const chat = $("#main");
const announcer = $("#announcer");
const avatars = { defaultAvatar: boot.defaultAvatar, groupAvatar: boot.groupAvatar };

const sidebar = new Sidebar(store, {
  ...avatars,
  onSelect: (conversationId) => openConversation(conversationId),
  onRetry: () => loadSidebar(),
});
const view = new ConversationView(store, {
  defaultAvatar: boot.defaultAvatar,
  avatarOf: (conversation) => sidebar.avatarOf(conversation),
  onLoadOlder: (conversationId) => loadOlder(conversationId),
  onRetry: (clientId) => outbox.retry(clientId),
  onDiscard: (clientId) => outbox.discard(clientId),
  onBack: () => goBack(),
  onDetails: (conversationId) => details.open(conversationId),
  onSeen: (conversationId, messageId) => receipts.open(conversationId, messageId),
  onRendered: () => actions.afterRender(),
});
const composer = new Composer({
  maxBytes: boot.imageMaxBytes,
  maxLength: boot.textMaxLength,
  fileMaxBytes: boot.attachmentMaxBytes,
  onSend: (conversationId, message) => {
    if (actions.handleSubmit(conversationId, message)) return; // an edit
    outbox.send(conversationId, { ...message, replyTo: actions.takeReply(conversationId) });
  },
  onTyping: (conversationId, isTyping) => socket.send("typing", { conversationId, isTyping }),
});
const outbox = new Outbox(store, {
  socket,
  onChange: (conversationId, { own }) => {
    // Our own send's answer follows its predecessor too: it can reveal a lost frame.
    if (store.conversation(conversationId).link()) onGap(conversationId);
    if (conversationId === store.activeId) view.renderMessages({ mode: "append", own });
    sidebar.render();
  },
});
const actions = new MessageActions(store, {
  socket,
  composer,
  onChanged: (conversationId, mode = "append") => {
    if (conversationId === store.activeId) view.renderMessages({ mode });
    sidebar.render();
  },
});
const details = new GroupDetails(store, {
  ...avatars,
  onChanged: (conversation) => refresh(conversation.id),
  onLeft: (conversation) => {
    announce(`You left ${conversation.title}`);
    refresh(conversation.id);
  },
});
const receipts = new ReceiptsDialog(store, { defaultAvatar: boot.defaultAvatar });
const newChat = new NewChatDialog(store, {
  defaultAvatar: boot.defaultAvatar,
  onStart: (userId) => startDirect(userId),
});
const newGroup = new NewGroupDialog(store, {
  defaultAvatar: boot.defaultAvatar,
  onCreated: (detail) => {
    const conversation = store.upsertConversation(detail);
    sidebar.render();
    openConversation(conversation.id);
  },
});
const convMenu = new ConversationMenu(store, socket, {
  onChange: (conversationId) => {
    if (conversationId) refresh(conversationId);
    else {
      sidebar.render();
      if (store.activeId) refresh(store.activeId);
      else updateTitle();
    }
  },
  announce: (text) => announce(text),
});
$("#new-chat-button").addEventListener("click", () => newChat.open());
// Message search: a result opens its conversation, then the view re-renders around it.
new MessageSearch(store, {
  open: (conversationId) => openConversation(conversationId),
  render: () => view.renderMessages({ mode: "prepend" }),
});
$("#new-group-button").addEventListener("click", () => newGroup.open());

/** Re-render whatever shows this conversation. */
function refresh(conversationId) {
  if (conversationId === store.activeId) {
    view.renderHeader();
    convMenu.render();
    view.renderMessages({ mode: "append" });
    composer.setReadOnly(readOnlyReason(store.conversations.get(conversationId)));
  }
  if (details.isOpen && details.conversationId === conversationId) details.render();
  sidebar.render();
  updateTitle();
}

// ---------- Loading ----------------------------------------------------------------------------

/** Fetch the sidebar; a failure shows there instead of rejecting. */
function loadSidebar() {
  return sync
    .fetchSidebar()
    .then(({ arrived }) => {
      for (const { conversation, message } of arrived) tellAbout(conversation, message);
      sidebar.render();
      if (store.activeId) refresh(store.activeId);
      updateTitle();
    })
    .catch((error) => {
      if (!store.loaded) sidebar.showError(error.message);
    });
}

/** Members, roles and read cursors of a conversation; the page re-renders when they come. */
function loadDetail(conversationId) {
  return sync
    .fetchDetail(conversationId)
    .then(() => refresh(conversationId))
    .catch(() => {}); // shown without names/marks until the next try (opening, reconnecting)
}

async function loadOlder(conversationId) {
  if (!sync.canLoadOlder(conversationId)) return;
  const loading = sync.loadOlder(conversationId);
  view.renderMessages({ mode: "prepend" });
  try {
    await loading;
  } catch {
    // Scrolling up again retries.
  }
  if (store.activeId === conversationId) view.renderMessages({ mode: "prepend" });
}

const GAP_GRACE = 300; // ms; frames from two server processes can cross: wait for the missing one
const gapTimers = new Map();

/** A live message didn't follow what we hold: fetch what's missing (the open one at once). */
function onGap(conversationId) {
  if (gapTimers.has(conversationId)) return;
  gapTimers.set(
    conversationId,
    setTimeout(async () => {
      gapTimers.delete(conversationId);
      const conversation = store.conversations.get(conversationId);
      if (!conversation || !conversation.link()) return; // the missing frame arrived meanwhile
      conversation.gap = true;
      if (store.activeId !== conversationId) return; // caught up when it is opened
      try {
        await sync.catchUpConversation(conversationId);
      } catch {
        return; // the next reconnect or message tries again
      }
      if (store.activeId === conversationId) {
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
  sidebarTimer = setTimeout(() => loadSidebar(), GAP_GRACE);
}

let catchUpTimer = null;

/**
 * After a (re)connection: the sidebar first (conversations created or joined meanwhile appear,
 * the ones that moved on are marked), then the open conversation and its members. Just after
 * the network returns, requests can still fail for a moment: keep trying while the socket is up.
 */
async function catchUp(attempt = 0) {
  clearTimeout(catchUpTimer);
  const id = store.activeId;
  try {
    const { arrived } = await sync.fetchSidebar();
    for (const { conversation, message } of arrived) tellAbout(conversation, message);
    if (id && store.conversations.has(id)) {
      await Promise.all([sync.catchUpConversation(id), sync.fetchDetail(id)]);
    }
  } catch {
    if (socket.isOpen) {
      catchUpTimer = setTimeout(() => catchUp(attempt + 1), Math.min(10_000, 500 * 2 ** attempt));
    }
    sidebar.render();
    return;
  }
  sidebar.render();
  updateTitle();
  if (id && store.activeId === id) {
    refresh(id);
    markRead();
  }
}

// ---------- Opening and closing conversations -------------------------------------------------

function readOnlyReason(conversation) {
  if (conversation && !conversation.isGroup && store.blocked.has(conversation.peerId)) {
    return BLOCKED_READONLY;
  }
  if (!conversation || conversation.active) return null;
  const me = store.me._id;
  const line = conversation.messages.findLast(
    (m) =>
      m.kind === "system" &&
      ["left", "removed"].includes(m.event && m.event.type) &&
      (m.event.users || []).includes(me),
  );
  const why = !line
    ? "You're no longer in this group."
    : line.event.type === "left"
      ? "You left this group."
      : "You were removed from this group.";
  return `${why} You can read what was said while you were in it, but not send messages.`;
}

async function openConversation(conversationId, { push = true } = {}) {
  const conversation = store.conversations.get(conversationId);
  if (!conversation) return;
  const switching = store.activeId !== conversationId;
  store.activeId = conversationId;
  chat.dataset.view = "conversation";
  if (push) {
    // One history entry for "in a conversation": Back (the phone's too) returns to the list.
    const url = `?c=${encodeURIComponent(conversationId)}`;
    if (history.state && history.state.c) {
      history.replaceState({ c: conversationId, pushed: history.state.pushed }, "", url);
    } else history.pushState({ c: conversationId, pushed: true }, "", url);
  }
  if (switching) {
    actions.cancelCompose(); // a reply or an edit belongs to the conversation it began in
    composer.switchTo(conversationId);
  }
  composer.setReadOnly(readOnlyReason(conversation));
  view.open(conversationId);
  convMenu.render();
  sidebar.render();
  if (!PHONE.matches) composer.focus();
  if (!conversation.detailLoaded || conversation.detailStale) loadDetail(conversationId);

  try {
    if (!conversation.loaded) {
      view.showLoading();
      await sync.loadLatest(conversationId);
    } else if (conversation.gap) {
      await sync.catchUpConversation(conversationId);
    }
  } catch (error) {
    if (store.activeId === conversationId) view.showError(error.message);
    return;
  }
  if (store.activeId !== conversationId) return; // another one was opened meanwhile
  composer.setReadOnly(readOnlyReason(conversation));
  view.renderMessages({ mode: switching ? "bottom" : "append" });
  actions.refresh(conversationId); // edits and reactions missed while it was not open
  markRead();
  sidebar.render();
  updateTitle();
}

/** Open the direct conversation with this person (created on the server if need be). */
async function startDirect(userId, { push = true } = {}) {
  let conversation = store.directWith(userId);
  if (!conversation) {
    try {
      conversation = store.upsertConversation(await directConversation(userId));
    } catch (error) {
      announce(`Couldn't open the chat: ${error.message}`);
      return;
    }
  }
  await openConversation(conversation.id, { push });
}

function closeConversation() {
  actions.cancelCompose();
  convMenu.close();
  composer.switchTo(null);
  store.activeId = null;
  chat.dataset.view = "list";
  view.close();
  sidebar.render();
  if (PHONE.matches) sidebar.focus();
}

function goBack() {
  if (history.state && history.state.pushed) history.back();
  else {
    history.replaceState(null, "", location.pathname);
    closeConversation();
  }
}

window.addEventListener("popstate", () => {
  const id = new URLSearchParams(location.search).get("c");
  if (id && store.conversations.has(id)) openConversation(id, { push: false });
  else closeConversation();
});

// ---------- Read receipts, title, announcements -----------------------------------------------

function canSeeConversation() {
  return document.visibilityState === "visible" && document.hasFocus();
}

/** Tell the others we read the open conversation, only while it is really in view. */
function markRead() {
  const id = store.activeId;
  if (!id || !canSeeConversation()) return;
  const upTo = store.markRead(id);
  if (!upTo) return;
  if (!socket.send("read", { conversationId: id, upTo })) {
    markReadApi(id, upTo).catch(() => {});
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
  const id = store.activeId;
  const conversation = id ? store.conversations.get(id) : null;
  if (!conversation || !conversation.loaded || Date.now() - lastVerified < VERIFY_EVERY) return;
  lastVerified = Date.now();
  try {
    await sync.catchUpConversation(id);
  } catch {
    return;
  }
  if (store.activeId === id) view.renderMessages({ mode: "append" });
}

// ---------- Socket events -----------------------------------------------------------------------

function onNewMessage(message) {
  const { conversation, incoming, added, newest, known, sidebarGap } = store.applyMessage(message);
  if (!known) {
    // A conversation created or joined a moment ago: the sidebar brings it with its counts.
    sync.hold(message);
    loadSidebar();
    return;
  }
  const id = conversation.id;
  if (sidebarGap) onSidebarGap();
  if (conversation.link()) onGap(id);
  if (incoming) store.setTyping(id, message.senderId, false);
  if (id === store.activeId) {
    view.renderMessages({
      mode: "append",
      newIncoming: incoming && added ? 1 : 0,
      own: !incoming && added,
    });
    view.renderHeader();
    // "You left" / "... removed you" is the reason the composer gives for being read-only.
    if (message.kind === "system") composer.setReadOnly(readOnlyReason(conversation));
    markRead();
  }
  if (incoming && newest) tellAbout(conversation, message);
  sidebar.render();
  updateTitle();
}

/** Announce a new message to screen readers, and notify when it isn't in view. */
function tellAbout(conversation, message) {
  // Muted chats and blocked people stay quiet: no announcement, no notification.
  if (conversation.muted || store.blocked.has(message.senderId)) return;
  const name = conversationName(store, conversation);
  const sender = store.name(message.senderId);
  const body =
    message.kind === "system" ? systemText(store, message) : plainText(message.text) || "Sent a photo";
  const open = conversation.id === store.activeId;
  const who = conversation.isGroup ? `${firstName(sender)} in ${name}` : sender;
  announce(open ? `${who}: ${body}` : `New message from ${who}`);
  if (open && canSeeConversation()) return;
  const line = conversation.isGroup && message.kind !== "system";
  notify({
    title: conversation.isGroup ? name : sender,
    body: line ? `${firstName(sender)}: ${body}` : body,
    icon: sidebar.avatarOf(conversation),
    tag: `parley-${conversation.id}`,
    onClick: () => openConversation(conversation.id),
  });
}

socket.addEventListener("newMessage", (event) => onNewMessage(event.detail));

socket.addEventListener("conversationCreated", (event) => {
  const shape = event.detail;
  if (!shape || !shape._id) return;
  const conversation = store.upsertConversation(shape);
  // Its members arrive without names: fetch them if someone we don't know is in it.
  const unknown = conversation.activeMemberIds().some((uid) => !store.users.has(uid));
  if (unknown || conversation.id === store.activeId) loadDetail(conversation.id);
  refresh(conversation.id);
});

socket.addEventListener("conversationUpdated", (event) => {
  const { conversationId, title, picture } = event.detail || {};
  const conversation = store.conversations.get(conversationId);
  if (!conversation) return;
  if (typeof title === "string") conversation.title = title;
  conversation.picture = picture || null;
  refresh(conversationId);
});

socket.addEventListener("memberAdded", (event) => {
  const { conversationId, userIds = [] } = event.detail || {};
  const conversation = store.conversations.get(conversationId);
  if (!conversation) return;
  for (const userId of userIds) {
    // They read from the line that says they were added: nothing before counts for them.
    conversation.members.set(userId, {
      ...(conversation.members.get(userId) || {}),
      userId,
      role: "member",
      leftAt: null,
      readSeq: conversation.lastSeq,
      deliveredSeq: conversation.lastSeq,
    });
  }
  conversation.memberCount = conversation.activeMemberIds().length;
  if (userIds.includes(store.me._id)) conversation.active = true; // added back
  if (userIds.some((uid) => !store.users.has(uid))) loadDetail(conversationId);
  refresh(conversationId);
});

socket.addEventListener("memberRemoved", (event) => {
  const { conversationId, userId } = event.detail || {};
  const conversation = store.conversations.get(conversationId);
  if (!conversation) return;
  const member = conversation.members.get(userId);
  if (member) member.leftAt = new Date().toISOString();
  conversation.memberCount = conversation.activeMemberIds().length;
  store.setTyping(conversationId, userId, false);
  if (userId === store.me._id) {
    conversation.active = false;
    conversation.role = "member";
  }
  refresh(conversationId);
});

socket.addEventListener("memberUpdated", (event) => {
  const { conversationId, userId, role } = event.detail || {};
  const conversation = store.conversations.get(conversationId);
  if (!conversation) return;
  const member = conversation.members.get(userId);
  if (member) member.role = role;
  if (userId === store.me._id) conversation.role = role;
  refresh(conversationId);
});

socket.addEventListener("conversationDeleted", (event) => {
  const { conversationId } = event.detail || {};
  if (!store.conversations.has(conversationId)) return;
  const name = conversationName(store, store.conversations.get(conversationId));
  store.conversations.delete(conversationId);
  if (store.activeId === conversationId) {
    if (details.isOpen) details.dialog.close();
    history.replaceState(null, "", location.pathname);
    closeConversation();
    announce(`${name} was deleted`);
  }
  sidebar.render();
  updateTitle();
});

socket.addEventListener("getOnlineUsers", (event) => {
  store.setOnline(event.detail || []);
  sidebar.render();
  view.renderHeader();
});

for (const [name, online] of [
  ["userOnline", true],
  ["userOffline", false],
]) {
  socket.addEventListener(name, (event) => {
    const { userId, lastSeen } = event.detail || {};
    store.setPresence(userId, online, lastSeen);
    sidebar.render();
    view.renderHeader();
    if (details.isOpen) details.render();
  });
}

// Someone changed their name or picture: the sidebar, header, bubbles and details follow.
socket.addEventListener("userUpdated", (event) => {
  if (!applyUserUpdated(store, event.detail)) return;
  sidebar.render();
  if (store.activeId) {
    view.renderHeader();
    view.renderMessages({ mode: "append" });
  }
  if (details.isOpen) details.render();
});

socket.addEventListener("typing", (event) => {
  const { userId, isTyping, conversationId } = event.detail || {};
  const uid = String(userId);
  // Over a conversation, or (older clients) to me directly: our direct conversation.
  const direct = conversationId ? null : store.directWith(uid);
  const id = conversationId || (direct && direct.id);
  if (!id) return;
  const render = () => {
    sidebar.render();
    if (id === store.activeId) view.renderHeader();
  };
  store.setTyping(id, uid, Boolean(isTyping), render);
  render();
});

/** A delivered/read cursor moved: marks and "Seen by" follow. */
function onCursor(data, kind) {
  const conversation = store.moveCursor({ ...data, kind: data.kind || kind });
  if (!conversation) return;
  if (conversation.id === store.activeId) view.renderMessages({ mode: "append" });
  sidebar.render();
  updateTitle();
}

socket.addEventListener("messagesDelivered", (event) => onCursor(event.detail || {}, "delivered"));
socket.addEventListener("messagesRead", (event) => onCursor(event.detail || {}, "read"));
socket.addEventListener("cursorMoved", (event) => onCursor(event.detail || {}, "read"));

// Every (re)connection catches up once the server says the socket is subscribed ("ready"):
// whatever was sent while we had no live socket comes from the API, and everything after
// arrives live. Copies of the same message are deduplicated by id.
socket.addEventListener("ready", () => {
  convMenu.load(); // the people I block may have changed while away
  catchUp();
  outbox.flush();
});

// Logging out from the header revokes the token, so the server closes this socket with 4401
// while the form's own navigation is under way: that one must win (it shows "logged out").
let leaving = false;
document.addEventListener("submit", (event) => {
  if (!event.defaultPrevented && event.target.closest("form.logout-form")) leaving = true;
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
    view.setConnection("open");
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
    view.setConnection(state, messages[state] || "Connecting…");
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
loadSidebar().then(() => {
  const params = new URLSearchParams(location.search);
  const id = params.get("c");
  const withUser = params.get("with"); // older links name the person: open our conversation
  if (id && store.conversations.has(id)) {
    history.replaceState({ c: id, pushed: false }, "", location.search);
    openConversation(id, { push: false });
  } else if (withUser && withUser !== store.me._id) {
    startDirect(withUser, { push: false }).then(() => {
      if (store.activeId) {
        const url = `?c=${encodeURIComponent(store.activeId)}`;
        history.replaceState({ c: store.activeId, pushed: false }, "", url);
      }
    });
  }
});
