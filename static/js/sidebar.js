// The list of conversations, direct and group: avatar, online dot, last message, unread badge;
// search and "online only". Newest activity first.

import { $, cloneTemplate, reconcile, safeUrl, setAttr, setText } from "./dom.js";
import { conversationName, previewText, typingText } from "./names.js";
import { formatListTime } from "./time.js";

export class Sidebar {
  constructor(store, { defaultAvatar, groupAvatar, onSelect, onRetry }) {
    this.store = store;
    this.defaultAvatar = defaultAvatar;
    this.groupAvatar = groupAvatar;
    this.onSelect = onSelect;
    this.items = new Map(); // conversationId -> <li>
    this.list = $("#chat-list");
    this.search = $("#chat-search");
    this.onlineOnly = $("#online-only");
    this.onlineCount = $("#online-count");
    this.empty = $("#chats-empty");
    this.emptyTitle = $("#chats-empty-title");
    this.emptyText = $("#chats-empty-text");
    this.retry = $("#chats-retry");
    this.error = null;

    this.search.addEventListener("input", () => this.render());
    this.onlineOnly.addEventListener("change", () => this.render());
    this.retry.addEventListener("click", () => onRetry());
    this.list.addEventListener("click", (event) => {
      const item = event.target.closest(".chat-item[data-conversation-id]");
      if (item) this.onSelect(item.dataset.conversationId);
    });
    // Arrow keys walk the list; Tab leaves it (one stop instead of one per conversation).
    this.list.addEventListener("keydown", (event) => this.#onKey(event));
  }

  showError(message) {
    this.error = message;
    this.render();
  }

  /** The picture of a conversation: the group's, or the other person's. */
  avatarOf(conversation) {
    if (conversation.isGroup) return safeUrl(conversation.picture) || this.groupAvatar;
    const peer = this.store.users.get(conversation.peerId);
    return safeUrl(peer && peer.profilePic) || this.defaultAvatar;
  }

  render() {
    const { store } = this;
    if (!store.loaded && !this.error) return; // the skeleton stays until the first answer
    this.list.setAttribute("aria-busy", "false");
    const query = this.search.value.trim().toLocaleLowerCase();
    const onlineOnly = this.onlineOnly.checked;
    setText(this.onlineCount, `(${store.onlineCount()})`);

    const all = store.sorted();
    const visible = all.filter((conversation) => {
      if (onlineOnly && (conversation.isGroup || !store.online.has(conversation.peerId))) {
        return false;
      }
      return !query || conversationName(store, conversation).toLocaleLowerCase().includes(query);
    });
    reconcile(
      this.list,
      visible.map((conversation) => this.#item(conversation)),
    );
    for (const id of this.items.keys()) {
      if (!store.conversations.has(id)) this.items.delete(id);
    }
    this.#rovingTabIndex();
    this.#emptyState(all.length, visible.length, query, onlineOnly);
  }

  #emptyState(total, count, query, onlineOnly) {
    const { store } = this;
    if (this.error && !store.loaded) {
      this.#showEmpty("Couldn't load your chats", this.error, true);
    } else if (total === 0) {
      this.#showEmpty("No chats yet", "Start one with “New chat”, or make a group.");
    } else if (count === 0 && query) {
      this.#showEmpty("No matches", `No chat is called “${this.search.value.trim()}”.`);
    } else if (count === 0 && onlineOnly) {
      this.#showEmpty("No one is online", "Turn off “Show online only” to see every chat.");
    } else {
      this.empty.hidden = true;
    }
  }

  #showEmpty(title, text, retry = false) {
    setText(this.emptyTitle, title);
    setText(this.emptyText, text);
    this.retry.hidden = !retry;
    this.empty.hidden = false;
  }

  #item(conversation) {
    let li = this.items.get(conversation.id);
    if (!li) {
      li = cloneTemplate("chat-item-template");
      li.dataset.conversationId = conversation.id;
      this.items.set(conversation.id, li);
    }
    const { store } = this;
    const group = conversation.isGroup;
    const online = !group && store.online.has(conversation.peerId);
    const typists = store.typingIn(conversation.id);
    const typing = typists.length > 0;
    const last = conversation.last && !conversation.last._id ? conversation.last : null;
    const message = last || conversation.lastMessage;
    const unread = conversation.unreadCount || 0;
    const name = conversationName(store, conversation);

    const button = li.querySelector(".chat-item__button");
    const img = li.querySelector(".chat-item__avatar");
    const src = this.avatarOf(conversation);
    if (img.getAttribute("src") !== src) img.src = src;
    li.querySelector(".dot").hidden = !online;
    setText(li.querySelector(".chat-item__name"), name);
    setAttr(li.querySelector(".chat-item__group"), "hidden", !group); // an <svg>: no .hidden
    const time = li.querySelector(".chat-item__time");
    const when = message ? message.createdAt : null;
    setText(time, when ? formatListTime(when) : "");
    setAttr(time, "datetime", when);

    let preview;
    const photoOnly = Boolean(
      message && message.kind !== "system" && !message.text && (message.image || message.localImage),
    );
    if (typing) preview = group ? typingText(store, typists) : "typing…";
    else if (message && group && store.blocked.has(message.senderId)) {
      preview = "Message from someone you blocked"; // folded here too (docs/SAFETY.md)
    } else if (message) preview = previewText(store, conversation, message);
    else if (group) preview = "No messages yet";
    else preview = online ? "Online" : "No messages yet";
    const previewEl = li.querySelector(".chat-item__preview");
    setText(previewEl, preview);
    previewEl.classList.toggle("photo-label", photoOnly && !typing);

    const badge = li.querySelector(".badge");
    badge.hidden = unread === 0;
    setText(badge, unread > 99 ? "99+" : String(unread));
    li.classList.toggle("chat-item--unread", unread > 0);
    li.classList.toggle("chat-item--typing", typing);
    li.classList.toggle("chat-item--left", !conversation.active);
    li.classList.toggle("chat-item--muted", Boolean(conversation.muted)); // a grey badge
    setAttr(button, "aria-current", conversation.id === store.activeId ? "true" : null);

    // One sentence for screen readers instead of the parts read one by one.
    const parts = [name, group ? "group" : null, online ? "online" : null];
    if (!conversation.active) parts.push("you're no longer a member");
    if (conversation.muted) parts.push("muted");
    if (unread) parts.push(`${unread} unread ${unread === 1 ? "message" : "messages"}`);
    if (typing || message) parts.push(preview);
    setAttr(button, "aria-label", parts.filter(Boolean).join(", "));
    return li;
  }

  #buttons() {
    return [...this.list.querySelectorAll(".chat-item__button")];
  }

  #rovingTabIndex() {
    const buttons = this.#buttons();
    const current =
      buttons.find((b) => b === document.activeElement) ||
      buttons.find((b) => b.getAttribute("aria-current") === "true") ||
      buttons[0];
    for (const button of buttons) button.tabIndex = button === current ? 0 : -1;
  }

  /** Put the keyboard on the open conversation's row (or the first). */
  focus() {
    const buttons = this.#buttons();
    const target = buttons.find((b) => b.tabIndex === 0) || buttons[0];
    if (target) target.focus();
  }

  #onKey(event) {
    const buttons = this.#buttons();
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: buttons.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const target = buttons[Math.max(0, Math.min(buttons.length - 1, moves[event.key]))];
    for (const button of buttons) button.tabIndex = button === target ? 0 : -1;
    target.focus();
  }
}
