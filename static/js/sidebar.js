// The list of people: avatar, online dot, last message, unread badge; search and "online only".

import { $, cloneTemplate, reconcile, safeUrl, setAttr, setText } from "./dom.js";
import { formatListTime } from "./time.js";

export class Sidebar {
  constructor(store, { defaultAvatar, onSelect, onRetry }) {
    this.store = store;
    this.defaultAvatar = defaultAvatar;
    this.onSelect = onSelect;
    this.items = new Map(); // userId -> <li>
    this.list = $("#people");
    this.search = $("#people-search");
    this.onlineOnly = $("#online-only");
    this.onlineCount = $("#online-count");
    this.empty = $("#people-empty");
    this.emptyTitle = $("#people-empty-title");
    this.emptyText = $("#people-empty-text");
    this.retry = $("#people-retry");
    this.error = null;

    this.search.addEventListener("input", () => this.render());
    this.onlineOnly.addEventListener("change", () => this.render());
    this.retry.addEventListener("click", () => onRetry());
    this.list.addEventListener("click", (event) => {
      const item = event.target.closest(".person[data-user-id]");
      if (item) this.onSelect(item.dataset.userId);
    });
    // Arrow keys walk the list; Tab leaves it (one stop instead of one per person).
    this.list.addEventListener("keydown", (event) => this.#onKey(event));
  }

  showError(message) {
    this.error = message;
    this.render();
  }

  render() {
    const { store } = this;
    if (!store.usersLoaded && !this.error) return; // the skeleton stays until the first answer
    this.list.setAttribute("aria-busy", "false");
    const query = this.search.value.trim().toLocaleLowerCase();
    const onlineOnly = this.onlineOnly.checked;
    setText(this.onlineCount, `(${store.onlineCount()})`);

    const visible = store.sortedUsers().filter((user) => {
      if (onlineOnly && !store.online.has(user._id)) return false;
      return !query || user.fullName.toLocaleLowerCase().includes(query);
    });
    const nodes = visible.map((user) => this.#item(user));
    reconcile(this.list, nodes);
    for (const id of this.items.keys()) {
      if (!store.users.has(id)) this.items.delete(id);
    }
    this.#rovingTabIndex();
    this.#emptyState(visible.length, query, onlineOnly);
  }

  #emptyState(count, query, onlineOnly) {
    const { store } = this;
    if (this.error && !store.usersLoaded) {
      this.#showEmpty("Couldn't load people", this.error, true);
    } else if (store.users.size === 0) {
      this.#showEmpty("No one here yet", "When other people sign up, they appear here.");
    } else if (count === 0 && query) {
      this.#showEmpty("No matches", `No one is called “${this.search.value.trim()}”.`);
    } else if (count === 0 && onlineOnly) {
      this.#showEmpty("No one is online", "Turn off “Show online only” to see everyone.");
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

  #item(user) {
    let li = this.items.get(user._id);
    if (!li) {
      li = cloneTemplate("person-template");
      li.dataset.userId = user._id;
      this.items.set(user._id, li);
    }
    const { store } = this;
    const online = store.online.has(user._id);
    const typing = store.isTyping(user._id);
    const last = store.lastMessageWith(user);
    const unread = user.unreadCount || 0;
    const button = li.querySelector(".person__button");
    const img = li.querySelector(".person__avatar");
    const src = safeUrl(user.profilePic) || this.defaultAvatar;
    if (img.getAttribute("src") !== src) img.src = src;
    li.querySelector(".dot").hidden = !online;
    setText(li.querySelector(".person__name"), user.fullName);
    const time = li.querySelector(".person__time");
    setText(time, last ? formatListTime(last.createdAt) : "");
    setAttr(time, "datetime", last ? last.createdAt : null);

    let preview;
    const photoOnly = Boolean(last && !last.text && (last.image || last.localImage));
    if (typing) preview = "typing…";
    else if (!last) preview = online ? "Online" : "No messages yet";
    else {
      const body = last.text || (photoOnly ? "Photo" : "");
      preview = store.isMine(last) ? `You: ${body}` : body;
    }
    const previewEl = li.querySelector(".person__preview");
    setText(previewEl, preview);
    previewEl.classList.toggle("photo-label", photoOnly && !typing);

    const badge = li.querySelector(".badge");
    badge.hidden = unread === 0;
    setText(badge, unread > 99 ? "99+" : String(unread));
    li.classList.toggle("person--unread", unread > 0);
    li.classList.toggle("person--typing", typing);
    setAttr(button, "aria-current", user._id === store.activeId ? "true" : null);

    // One sentence for screen readers instead of the parts read one by one.
    const parts = [user.fullName, online ? "online" : null];
    if (unread) parts.push(`${unread} unread ${unread === 1 ? "message" : "messages"}`);
    if (typing) parts.push("typing");
    else if (last) parts.push(preview);
    setAttr(button, "aria-label", parts.filter(Boolean).join(", "));
    return li;
  }

  #buttons() {
    return [...this.list.querySelectorAll(".person__button")];
  }

  #rovingTabIndex() {
    const buttons = this.#buttons();
    const current =
      buttons.find((b) => b === document.activeElement) ||
      buttons.find((b) => b.getAttribute("aria-current") === "true") ||
      buttons[0];
    for (const button of buttons) button.tabIndex = button === current ? 0 : -1;
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
