// The open conversation: header, history with day separators, marks, scrolling and the
// "new messages" pill. Messages are cloned from <template>s and filled with textContent.

import { $, cloneTemplate, reconcile, safeUrl, setAttr, setText } from "./dom.js";
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

function statusOf(message, mine) {
  if (!mine) return "received";
  if (message.status) return message.status;
  if (message.readAt) return "read";
  if (message.deliveredAt) return "delivered";
  return "sent";
}

export class ConversationView {
  constructor(store, { defaultAvatar, onLoadOlder, onRetry, onBack }) {
    this.store = store;
    this.defaultAvatar = defaultAvatar;
    this.onLoadOlder = onLoadOlder;
    this.nodes = new Map(); // message key -> <li>
    this.dayNodes = new Map(); // day key -> <li>
    this.peerId = null;
    this.stick = true; // the reader is at the bottom: follow new messages
    this.unseen = 0;

    this.placeholder = $("#placeholder");
    this.pane = $("#pane");
    this.avatar = $("#peer-avatar");
    this.dot = $("#peer-dot");
    this.name = $("#peer-name");
    this.status = $("#peer-status");
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
    this.pill.addEventListener("click", () => this.scrollToBottom(true));
    this.scroller.addEventListener("scroll", () => this.#onScroll(), { passive: true });
    this.list.addEventListener("click", (event) => {
      const retry = event.target.closest(".message__retry");
      if (retry) {
        onRetry(retry.closest(".message").dataset.clientId);
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

  /** Show this person's conversation (its messages may still be loading). */
  open(peerId) {
    if (this.peerId !== peerId) {
      this.peerId = peerId;
      this.nodes.clear();
      this.dayNodes.clear();
      this.list.replaceChildren();
      this.unseen = 0;
      this.pill.hidden = true;
      this.stick = true;
    }
    this.placeholder.hidden = true;
    this.pane.hidden = false;
    this.renderHeader();
    this.renderMessages();
  }

  close() {
    this.peerId = null;
    this.pane.hidden = true;
    this.placeholder.hidden = false;
  }

  renderHeader() {
    const user = this.peerId && this.store.users.get(this.peerId);
    if (!user) return;
    const online = this.store.online.has(user._id);
    const typing = this.store.isTyping(user._id);
    const src = safeUrl(user.profilePic) || this.defaultAvatar;
    if (this.avatar.getAttribute("src") !== src) this.avatar.src = src;
    this.dot.hidden = !online;
    setText(this.name, user.fullName);
    setText(this.status, typing ? "typing…" : online ? "Online" : formatLastSeen(user.lastSeen));
    this.status.classList.toggle("pane__status--typing", typing);
    this.status.classList.toggle("pane__status--online", online && !typing);
  }

  /**
   * Re-render the list. `mode`: "bottom" jumps to the newest, "append" follows only when the
   * reader is at the bottom (else the pill counts what arrived), "prepend" keeps the view still.
   */
  renderMessages({ mode = "bottom", newIncoming = 0, own = false } = {}) {
    const conversation = this.peerId && this.store.conversations.get(this.peerId);
    const user = this.peerId && this.store.users.get(this.peerId);
    if (!conversation || !user) return;
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;

    const nodes = [];
    const { messages } = conversation;
    let previousDay = null;
    messages.forEach((message, index) => {
      const day = dayKey(message.createdAt);
      if (day !== previousDay) {
        nodes.push(this.#dayNode(day, message.createdAt));
        previousDay = day;
      }
      const before = messages[index - 1];
      const after = messages[index + 1];
      const first = !before || !this.#sameGroup(before, message);
      const last = !after || !this.#sameGroup(message, after);
      nodes.push(this.#messageNode(message, first, last));
    });
    reconcile(this.list, nodes);
    this.#forgetRemoved(messages);

    this.empty.hidden = !(conversation.loaded && messages.length === 0);
    setText(this.emptyTitle, `This is the start of your conversation with ${user.fullName}`);
    this.#renderHistoryStatus(conversation, user);

    if (mode === "bottom" || own) this.scrollToBottom();
    else if (mode === "prepend") this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    else if (mode === "append") {
      if (this.stick) this.scrollToBottom();
      else if (newIncoming) {
        this.unseen += newIncoming;
        setText(this.pillText, this.unseen === 1 ? "1 new message" : `${this.unseen} new messages`);
        this.pill.hidden = false;
      }
    }
    // A first page shorter than the window: fetch more so it can scroll at all.
    if (conversation.loaded && conversation.hasMore && !conversation.loadingOlder) {
      if (this.scroller.scrollHeight <= this.scroller.clientHeight) this.onLoadOlder(this.peerId);
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
    this.pill.hidden = true;
  }

  #onScroll() {
    const { scrollTop, scrollHeight, clientHeight } = this.scroller;
    this.stick = scrollHeight - scrollTop - clientHeight < NEAR_BOTTOM;
    if (this.stick) {
      this.unseen = 0;
      this.pill.hidden = true;
    }
    if (scrollTop < NEAR_TOP && this.peerId) this.onLoadOlder(this.peerId);
  }

  #renderHistoryStatus(conversation, user) {
    let text = "";
    if (!conversation.loaded) text = "Loading messages…";
    else if (conversation.loadingOlder) text = "Loading earlier messages…";
    else if (!conversation.hasMore && conversation.messages.length) {
      text = `This is the beginning of your conversation with ${user.fullName}.`;
    }
    setText(this.history, text);
  }

  #sameGroup(a, b) {
    if (a.senderId !== b.senderId || dayKey(a.createdAt) !== dayKey(b.createdAt)) return false;
    return new Date(b.createdAt) - new Date(a.createdAt) < GROUP_GAP;
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

  #messageNode(message, first, last) {
    const key = messageKey(message);
    let li = this.nodes.get(key);
    if (!li) {
      li = cloneTemplate("message-template");
      this.nodes.set(key, li);
    }
    const mine = this.store.isMine(message);
    const status = statusOf(message, mine);
    const src = safeUrl(message.image) || safeUrl(message.localImage);
    li.className = [
      "message",
      mine ? "message--out" : "message--in",
      first ? "message--first" : "",
      last ? "message--last" : "",
      status === "sending" || status === "queued" ? "message--pending" : "",
      status === "failed" ? "message--failed" : "",
      src ? "message--has-image" : "",
      src && !message.text ? "message--photo" : "",
    ]
      .filter(Boolean)
      .join(" ");
    li.dataset.status = status;
    setAttr(li, "data-message-id", message._id || null);
    setAttr(li, "data-client-id", message.clientId || null);

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
      img.alt = mine ? "Photo you sent" : "Photo";
      setAttr(imageButton, "aria-label", "Open photo full size");
      imageButton.dataset.full = safeUrl(message.image) || "";
    }
    const text = li.querySelector(".bubble__text");
    text.hidden = !message.text;
    setText(text, message.text || "");

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

    const failed = li.querySelector(".message__failed");
    failed.hidden = status !== "failed";
    if (status === "failed") {
      setText(li.querySelector(".message__failed-text"), message.error || "Not sent.");
    }
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
