// The open conversation: header, history with day separators and system lines, sender names
// and avatars in groups, marks and "Seen by", scrolling and the "new messages" pill. Messages
// are cloned from <template>s and filled with textContent.

import { $, cloneTemplate, reconcile, safeUrl, setAttr, setText } from "./dom.js";
import { decorateMessage } from "./message-actions.js";
import {
  conversationName,
  firstName,
  memberSummary,
  seenByText,
  systemText,
  typingText,
} from "./names.js";
import { showPendingFile } from "./attach-view.js";
import { fillRichText } from "./richtext.js";
import { dayKey, formatDay, formatLastSeen, formatTime } from "./time.js";

const GROUP_GAP = 5 * 60_000; // ms; closer messages from one sender share a bubble group
const NEAR_BOTTOM = 80; // px
const NEAR_TOP = 300; // px; start fetching older messages before the top is reached

const MARKS = {
  sending: { icon: "#i-clock", label: "Sending" },
  queued: { icon: "#i-clock", label: "Waiting for connection" },
  failed: { icon: "#i-alert", label: "Not sent" },
  sent: { icon: "#i-check", label: "Sent" },
  delivered: { icon: "#i-checks", label: "Delivered" },
  read: { icon: "#i-checks", label: "Read" },
};

function messageKey(message) {
  return `${message.senderId}:${message.clientId || message._id}`;
}

export class ConversationView {
  constructor(
    store,
    {
      defaultAvatar,
      avatarOf,
      onLoadOlder,
      onRetry,
      onDiscard,
      onBack,
      onDetails,
      onSeen,
      onRendered,
    },
  ) {
    this.store = store;
    this.onRendered = onRendered || (() => {});
    this.defaultAvatar = defaultAvatar;
    this.avatarOf = avatarOf;
    this.onLoadOlder = onLoadOlder;
    this.nodes = new Map(); // message key -> <li>
    this.dayNodes = new Map(); // day key -> <li>
    this.conversationId = null;
    this.stick = true; // the reader is at the bottom: follow new messages
    this.unseen = 0;

    this.placeholder = $("#placeholder");
    this.pane = $("#pane");
    this.avatar = $("#pane-avatar");
    this.dot = $("#pane-dot");
    this.title = $("#pane-title");
    this.status = $("#pane-status");
    this.detailsButton = $("#details-button");
    this.scroller = $("#messages");
    this.list = $("#message-list");
    this.history = $("#history-status");
    this.empty = $("#conversation-empty");
    this.emptyTitle = $("#conversation-empty-title");
    this.pill = $("#new-pill");
    this.pillText = $("#new-pill-text");
    this.lightbox = $("#lightbox");
    this.lightboxImg = $("#lightbox-img");
    this.lightboxOpen = $("#lightbox-open");

    $("#back-button").addEventListener("click", () => onBack());
    this.detailsButton.addEventListener("click", () => onDetails(this.conversationId));
    this.pill.addEventListener("click", () => this.scrollToBottom(true));
    this.scroller.addEventListener("scroll", () => this.#onScroll(), { passive: true });
    this.list.addEventListener("click", (event) => {
      const retry = event.target.closest(".message__retry");
      if (retry) {
        onRetry(retry.closest(".message").dataset.clientId);
        return;
      }
      const discard = event.target.closest(".message__discard");
      if (discard) {
        onDiscard(discard.closest(".message").dataset.clientId);
        return;
      }
      const seen = event.target.closest(".message__seen");
      if (seen) {
        onSeen(this.conversationId, seen.closest(".message").dataset.messageId);
        return;
      }
      const image = event.target.closest(".bubble__image");
      if (image) this.#openImage(image.querySelector("img"));
    });
    // A picture that finishes loading grows the list: stay pinned to the bottom if we were.
    this.list.addEventListener(
      "load",
      () => {
        if (this.stick) this.scrollToBottom();
      },
      true,
    );
    this.lightbox.addEventListener("click", (event) => {
      if (event.target === this.lightbox) this.lightbox.close(); // a click on the backdrop
    });
  }

  /**
   * Our own socket's state ("open", "connecting", "reconnecting", "offline"). While it is down
   * the header claims nobody is online (we can't know), and on a phone, where the list's
   * banner is out of sight, the conversation shows its own.
   */
  setConnection(state, text = "") {
    this.connection = state;
    const banner = $("#pane-offline");
    banner.hidden = state === "open";
    if (text) setText($("#pane-offline-text"), text);
    banner.classList.toggle("pane-offline--offline", state === "offline");
    this.renderHeader();
  }

  get conversation() {
    return this.conversationId ? this.store.conversations.get(this.conversationId) : null;
  }

  /** Show this conversation (its messages may still be loading). */
  open(conversationId) {
    if (this.conversationId !== conversationId) {
      this.conversationId = conversationId;
      this.nodes.clear();
      this.dayNodes.clear();
      this.list.replaceChildren();
      this.unseen = 0;
      this.pill.hidden = true;
      this.stick = true;
      // Where unread begins, fixed for as long as this conversation stays open.
      const conversation = this.store.conversations.get(conversationId);
      this.unreadAfter = conversation && conversation.unreadCount > 0 ? conversation.readSeq : null;
      this.dividerShown = false;
    }
    this.placeholder.hidden = true;
    this.pane.hidden = false;
    this.renderHeader();
    this.renderMessages();
  }

  close() {
    this.conversationId = null;
    this.pane.hidden = true;
    this.placeholder.hidden = false;
  }

  renderHeader() {
    const conversation = this.conversation;
    if (!conversation) return;
    const { store } = this;
    const group = conversation.isGroup;
    const src = this.avatarOf(conversation);
    if (this.avatar.getAttribute("src") !== src) this.avatar.src = src;
    setText(this.title, conversationName(store, conversation));
    this.detailsButton.hidden = !group;
    this.pane.classList.toggle("pane--group", group);

    const typists = store.typingIn(conversation.id);
    let status;
    let online = false;
    if (group) {
      if (!conversation.active) status = "You're no longer a member";
      else status = typingText(store, typists) || memberSummary(store, conversation);
    } else {
      const peer = store.users.get(conversation.peerId);
      const connected = !this.connection || this.connection === "open";
      online = connected && store.online.has(conversation.peerId);
      if (typists.length && connected) status = "typing…";
      else if (!connected) status = this.connection === "offline" ? "Waiting for network…" : "Connecting…";
      // A block hides presence both ways: say so rather than a "last seen" we cannot know.
      else if (store.blocked.has(conversation.peerId)) status = "Blocked";
      else status = online ? "Online" : formatLastSeen(peer && peer.lastSeen);
    }
    this.dot.hidden = !online;
    setText(this.status, status);
    this.status.classList.toggle("pane__status--typing", typists.length > 0);
    this.status.classList.toggle("pane__status--online", online && !typists.length);
  }

  /**
   * Re-render the list. `mode`: "bottom" jumps to the newest, "append" follows only when the
   * reader is at the bottom (else the pill counts what arrived), "prepend" keeps the view still.
   */
  renderMessages({ mode = "bottom", newIncoming = 0, own = false } = {}) {
    const conversation = this.conversation;
    if (!conversation) return;
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;

    const nodes = [];
    const { messages } = conversation;
    const seenOn = this.#seenMessage(conversation);
    let previousDay = null;
    const divider = this.#unreadDivider(conversation);
    messages.forEach((message, index) => {
      const day = dayKey(message.createdAt);
      if (day !== previousDay) {
        nodes.push(this.#dayNode(day, message.createdAt));
        previousDay = day;
      }
      if (message === divider.before) nodes.push(divider.node);
      if (message.kind === "system") {
        nodes.push(this.#systemNode(message));
        return;
      }
      const before = messages[index - 1];
      const after = messages[index + 1];
      const first = !before || !this.#sameGroup(before, message);
      const last = !after || !this.#sameGroup(message, after);
      nodes.push(this.#messageNode(conversation, message, first, last, message === seenOn));
    });
    reconcile(this.list, nodes);
    this.#forgetRemoved(messages);
    this.onRendered();

    const name = conversationName(this.store, conversation);
    this.empty.hidden = !(conversation.loaded && messages.length === 0);
    setText(this.emptyTitle, `This is the start of your conversation with ${name}`);
    this.#renderHistoryStatus(conversation, name);

    if (mode === "bottom" && divider.before && !this.dividerShown && !own) {
      // Opened with unread messages: start at the divider, the jump button leads down.
      this.dividerShown = true;
      this.scroller.scrollTop = Math.max(0, divider.node.offsetTop - 48);
      this.#onScroll();
    } else if (mode === "bottom" || own) this.scrollToBottom();
    else if (mode === "prepend") this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    else if (mode === "append") {
      if (this.stick) this.scrollToBottom();
      else if (newIncoming) {
        this.unseen += newIncoming;
        this.#updatePill();
      }
    }
    // A first page shorter than the window: fetch more so it can scroll at all.
    if (conversation.loaded && conversation.hasMore && !conversation.loadingOlder) {
      if (this.scroller.scrollHeight <= this.scroller.clientHeight) this.onLoadOlder(conversation.id);
    }
  }

  showLoading() {
    setText(this.history, "Loading messages…");
  }

  showError(message) {
    setText(this.history, `Couldn't load messages: ${message}`);
  }

  scrollToBottom(smooth = false) {
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: smooth ? "smooth" : "instant" });
    this.stick = true;
    this.unseen = 0;
    this.#updatePill();
  }

  #onScroll() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    this.stick = scrollHeight - scrollTop - clientHeight < NEAR_BOTTOM;
    if (this.stick) this.unseen = 0;
    this.#updatePill();
    if (scrollTop < NEAR_TOP && this.conversationId) this.onLoadOlder(this.conversationId);
  }

  /** The jump-to-bottom button: shown whenever scrolled up, with what arrived meanwhile. */
  #updatePill() {
    this.pill.hidden = this.stick;
    const n = this.unseen;
    const text = n === 0 ? "Jump to latest" : n === 1 ? "1 new message" : `${n} new messages`;
    setText(this.pillText, text);
    this.pill.classList.toggle("pill--count", n > 0);
    setAttr(this.pill, "aria-label", n ? `${text}, jump to latest` : text);
  }

  /**
   * The "New messages" line: before the first message from others past where I had read, once
   * the history reaches back that far (else it would claim the older unread ones were read).
   */
  #unreadDivider(conversation) {
    const none = { before: null, node: null };
    const { messages } = conversation;
    if (this.unreadAfter == null) return none;
    const oldest = messages.find((m) => m._id);
    if (conversation.hasMore && !(oldest && oldest.seq <= this.unreadAfter + 1)) return none;
    const before = messages.find(
      (m) => m._id && m.seq > this.unreadAfter && m.kind !== "system" && !this.store.isMine(m),
    );
    if (!before) return none;
    if (!this.dividerNode) {
      this.dividerNode = document.createElement("li");
      this.dividerNode.className = "unread-divider";
      this.dividerNode.setAttribute("role", "separator");
      const label = document.createElement("span");
      label.className = "unread-divider__label";
      label.textContent = "New messages";
      this.dividerNode.append(label);
    }
    return { before, node: this.dividerNode };
  }

  #renderHistoryStatus(conversation, name) {
    let text = "";
    if (!conversation.loaded) text = "Loading messages…";
    else if (conversation.loadingOlder) text = "Loading earlier messages…";
    else if (!conversation.hasMore && conversation.messages.length && !conversation.isGroup) {
      text = `This is the beginning of your conversation with ${name}.`;
    }
    setText(this.history, text);
  }

  #sameGroup(a, b) {
    if (a.kind === "system" || b.kind === "system") return false;
    if (a.senderId !== b.senderId || dayKey(a.createdAt) !== dayKey(b.createdAt)) return false;
    return new Date(b.createdAt) - new Date(a.createdAt) < GROUP_GAP;
  }

  /** In a group, my newest message that someone has read carries "Seen by". */
  #seenMessage(conversation) {
    if (!conversation.isGroup) return null;
    const mine = conversation.messages.findLast(
      (m) => m._id && m.kind !== "system" && this.store.isMine(m),
    );
    if (!mine || !conversation.reachedBy(mine.seq, this.store.me._id).length) return null;
    return mine;
  }

  #status(conversation, message) {
    if (!this.store.isMine(message)) return "received";
    if (message.status) return message.status;
    const me = this.store.me._id;
    if (conversation.isGroup) {
      const others = conversation.activeMemberIds().filter((id) => id !== me);
      if (!others.length || !message._id) return "sent";
      const read = conversation.reachedBy(message.seq, me, "readSeq");
      if (others.every((id) => read.includes(id))) return "read";
      const delivered = conversation.reachedBy(message.seq, me, "deliveredSeq");
      return others.every((id) => delivered.includes(id)) ? "delivered" : "sent";
    }
    const peer = conversation.members.get(conversation.peerId);
    if (message.readAt || (peer && message._id && (peer.readSeq || 0) >= message.seq)) {
      return "read";
    }
    if (message.deliveredAt || (peer && message._id && (peer.deliveredSeq || 0) >= message.seq)) {
      return "delivered";
    }
    return "sent";
  }

  #dayNode(day, iso) {
    let node = this.dayNodes.get(day);
    if (!node) {
      node = cloneTemplate("day-template");
      this.dayNodes.set(day, node);
    }
    setText(node.querySelector(".day__label"), formatDay(iso));
    return node;
  }

  #forgetRemoved(messages) {
    if (this.nodes.size <= messages.length) return;
    const keep = new Set(messages.map(messageKey));
    for (const key of this.nodes.keys()) if (!keep.has(key)) this.nodes.delete(key);
  }

  #systemNode(message) {
    const key = messageKey(message);
    let li = this.nodes.get(key);
    if (!li) {
      li = cloneTemplate("system-template");
      this.nodes.set(key, li);
    }
    setAttr(li, "data-message-id", message._id || null);
    setText(li.querySelector(".system__text"), systemText(this.store, message));
    const time = li.querySelector(".system__time");
    setText(time, formatTime(message.createdAt));
    setAttr(time, "datetime", message.createdAt);
    return li;
  }

  #messageNode(conversation, message, first, last, seen) {
    const key = messageKey(message);
    let li = this.nodes.get(key);
    if (!li) {
      li = cloneTemplate("message-template");
      this.nodes.set(key, li);
    }
    const { store } = this;
    const mine = store.isMine(message);
    const group = conversation.isGroup;
    const status = this.#status(conversation, message);
    const src = safeUrl(message.image) || safeUrl(message.localImage);
    li.className = [
      "message",
      mine ? "message--out" : "message--in",
      group && !mine ? "message--group" : "",
      first ? "message--first" : "",
      last ? "message--last" : "",
      status === "sending" || status === "queued" ? "message--pending" : "",
      status === "failed" ? "message--failed" : "",
      src ? "message--has-image" : "",
      src && !message.text ? "message--photo" : "",
      group && !mine && store.blocked.has(message.senderId) ? "message--blocked" : "",
    ]
      .filter(Boolean)
      .join(" ");
    li.dataset.status = status;
    setAttr(li, "data-message-id", message._id || null);
    setAttr(li, "data-client-id", message.clientId || null);

    // In a group: who wrote it (name over the first bubble, picture beside the last).
    const sender = li.querySelector(".message__sender");
    const showSender = group && !mine;
    sender.hidden = !(showSender && first);
    if (showSender) setText(sender, store.name(message.senderId));
    // Created only where it shows: a direct conversation's messages hold no <img> of their own.
    let avatar = li.querySelector(".message__avatar");
    if (showSender && last) {
      if (!avatar) {
        avatar = document.createElement("img");
        avatar.className = "avatar message__avatar";
        avatar.alt = "";
        avatar.width = avatar.height = 28;
        sender.after(avatar);
      }
      const user = store.users.get(message.senderId);
      const picture = safeUrl(user && user.profilePic) || this.defaultAvatar;
      if (avatar.getAttribute("src") !== picture) avatar.src = picture;
    } else if (avatar) avatar.remove();

    const imageButton = li.querySelector(".bubble__image");
    imageButton.hidden = !src;
    if (src) {
      // Created only for picture messages: a text message never holds an <img>.
      let img = imageButton.querySelector("img");
      if (!img) {
        img = document.createElement("img");
        img.loading = "lazy";
        imageButton.append(img);
      }
      if (img.getAttribute("src") !== src) img.src = src;
      img.alt = mine ? "Photo you sent" : `Photo from ${firstName(store.name(message.senderId))}`;
      setAttr(imageButton, "aria-label", "Open photo full size");
      imageButton.dataset.full = safeUrl(message.image) || "";
    }
    const text = li.querySelector(".bubble__text");
    text.hidden = !message.text;
    fillRichText(text, message.text || "", key);
    showPendingFile(li, message);

    const time = li.querySelector(".bubble__time");
    setText(time, formatTime(message.createdAt));
    setAttr(time, "datetime", message.createdAt);

    const mark = li.querySelector(".mark");
    mark.hidden = !mine;
    if (mine) {
      const { icon, label } = MARKS[status];
      const use = mark.querySelector("use");
      if (use.getAttribute("href") !== icon) use.setAttribute("href", icon);
      setText(mark.querySelector(".mark__label"), label);
      setAttr(mark, "title", label);
      mark.className = `mark mark--${status}`;
    }

    const seenButton = li.querySelector(".message__seen");
    seenButton.hidden = !seen;
    if (seen) {
      const text = seenByText(store, conversation.reachedBy(message.seq, store.me._id));
      setText(seenButton.querySelector(".message__seen-text"), text);
      setAttr(seenButton, "aria-label", `${text}. Show who read it and when`);
    }

    const failed = li.querySelector(".message__failed");
    failed.hidden = status !== "failed";
    if (status === "failed") {
      setText(li.querySelector(".message__failed-text"), message.error || "Not sent.");
      // A refusal (4xx) would only be refused again: Discard is the one way out.
      li.querySelector(".message__retry").hidden = message.retryable === false;
    }
    decorateMessage(li, message, store); // actions: tombstone, edited, quote, file, reactions
    return li;
  }

  #openImage(img) {
    const full = img.closest(".bubble__image").dataset.full;
    this.lightboxImg.src = full || img.src;
    this.lightboxImg.alt = img.alt;
    this.lightboxOpen.hidden = !full;
    if (full) this.lightboxOpen.href = full;
    this.lightbox.showModal();
  }
}
