// Message search (docs/SEARCH.md): the panel over the chat list, its filters and results, and
// opening a result: the conversation at that message, with what surrounds it, highlighted.
// Snippets come as data ({text, match} parts) and become text nodes and <mark>s, never HTML.

import { api, ApiError } from "./api.js";
import { $, cloneTemplate, setAttr, setText } from "./dom.js";
import { formatListTime, formatMoment } from "./time.js";

const DEBOUNCE = 250; // ms after the last keystroke
const LIMIT = 20;
const CONTEXT = 50; // messages loaded around a result
const FILL_PAGE = 100;
const FILL_MAX = 20; // pages (2,000 messages) joined to what we hold; further, the window alone
const HIGHLIGHT_MS = 6000;
const AUTO_PAGES = 5;

export class MessageSearch {
  /**
   * `open(conversationId)` opens a conversation as the sidebar does (a promise);
   * `render()` re-renders its messages keeping the scroll position.
   */
  constructor(store, { open, render }) {
    this.store = store;
    this.open = open;
    this.render = render;
    this.panel = $("#msearch");
    this.input = $("#msearch-q");
    this.status = $("#msearch-status");
    this.results = $("#msearch-results");
    this.more = $("#msearch-more");
    this.filters = $("#msearch-filters");
    this.toggle = $("#msearch-filters-toggle");
    this.here = $("#msearch-here");
    this.from = $("#msearch-from");
    this.has = $("#msearch-has");
    this.since = $("#msearch-since");
    this.until = $("#msearch-until");
    this.timer = null;
    this.request = null; // AbortController of the search under way
    this.nextBefore = null;
    this.found = null; // the highlighted message element

    $("#msearch-button").addEventListener("click", () => this.show());
    $("#msearch-close").addEventListener("click", () => this.hide());
    $("#msearch-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });
    this.input.addEventListener("input", () => this.#later());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.hide();
    });
    this.toggle.addEventListener("click", () => {
      this.filters.hidden = !this.filters.hidden;
      setAttr(this.toggle, "aria-expanded", String(!this.filters.hidden));
      if (!this.filters.hidden) this.#fillPeople();
    });
    for (const control of [this.here, this.from, this.has, this.since, this.until]) {
      control.addEventListener("change", () => this.search());
    }
    this.more.addEventListener("click", () => this.search({ more: true }));
    this.results.addEventListener("click", (event) => {
      const item = event.target.closest(".msearch-result");
      if (item) this.jump(item.dataset.conversationId, item.dataset.messageId);
    });
  }

  show() {
    this.panel.hidden = false;
    this.panel.closest(".sidebar").classList.add("sidebar--searching");
    this.here.disabled = !this.store.activeId;
    if (!this.store.activeId) this.here.checked = false;
    this.input.focus();
    this.input.select();
  }

  hide() {
    this.panel.hidden = true;
    this.panel.closest(".sidebar").classList.remove("sidebar--searching");
    $("#msearch-button").focus();
  }

  #later() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.search(), DEBOUNCE);
  }

  /** Everyone we know a name for, me first, in name order, as "From" choices. */
  #fillPeople() {
    const chosen = this.from.value;
    const people = [...this.store.users.values()].filter((u) => u && u._id && u.fullName);
    people.sort((a, b) => a.fullName.localeCompare(b.fullName));
    const options = [new Option("Anyone", "")];
    for (const person of people) {
      const label = person._id === this.store.me._id ? `${person.fullName} (you)` : person.fullName;
      options.push(new Option(label, person._id));
    }
    this.from.replaceChildren(...options);
    this.from.value = chosen;
  }

  #params(before) {
    const query = new URLSearchParams({ q: this.input.value.trim(), limit: String(LIMIT) });
    if (this.here.checked && this.store.activeId) query.set("conversationId", this.store.activeId);
    if (this.from.value) query.set("from", this.from.value);
    if (this.has.value) query.set("has", this.has.value);
    if (this.since.value) query.set("since", this.since.value);
    if (this.until.value) query.set("until", this.until.value);
    if (before) query.set("before", before);
    return query;
  }

  async search({ more = false } = {}) {
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    if (this.request) this.request.abort();
    if (!q) {
      this.results.replaceChildren();
      this.more.hidden = true;
      setText(this.status, "");
      return;
    }
    const request = new AbortController();
    this.request = request;
    setText(this.status, more ? "Loading more…" : "Searching…");
    this.results.setAttribute("aria-busy", "true");
    let page;
    let before = more ? this.nextBefore : null;
    const results = [];
    try {
      // A page cut short (the server bounds its work) goes on by itself, a few times.
      for (let round = 0; round < AUTO_PAGES; round += 1) {
        const query = this.#params(before);
        page = await api("GET", `/api/search/messages?${query}`, undefined, {
          signal: request.signal,
        });
        results.push(...page.results);
        before = page.nextBefore;
        if (results.length >= LIMIT || !before) break;
      }
    } catch (error) {
      if (error.name === "AbortError") return;
      this.results.removeAttribute("aria-busy");
      setText(this.status, error instanceof ApiError ? error.message : "Search failed");
      return;
    } finally {
      if (this.request === request) this.request = null;
    }
    this.results.removeAttribute("aria-busy");
    const items = results.map((result) => this.#item(result));
    if (more) this.results.append(...items);
    else this.results.replaceChildren(...items);
    this.nextBefore = page.nextBefore;
    this.more.hidden = !page.nextBefore;
    const shown = this.results.childElementCount;
    setText(
      this.status,
      shown === 0
        ? page.nextBefore
          ? `Nothing found yet for “${q}”: “More results” searches older messages`
          : `No messages found for “${q}”`
        : `${shown}${page.nextBefore ? "+" : ""} message${shown === 1 ? "" : "s"} found`,
    );
  }

  #item({ message, conversation, sender, snippet }) {
    const li = cloneTemplate("msearch-result-template");
    li.dataset.conversationId = conversation._id;
    li.dataset.messageId = message._id;
    const known = this.store.conversations.get(conversation._id);
    const title = conversation.title || (known && known.title) || "Conversation";
    setText(li.querySelector(".msearch-result__conversation"), title);
    const time = li.querySelector(".msearch-result__time");
    setText(time, formatListTime(message.createdAt));
    setAttr(time, "datetime", message.createdAt);
    setAttr(time, "title", formatMoment(message.createdAt));
    const mine = sender._id === this.store.me._id;
    setText(li.querySelector(".msearch-result__sender"), mine ? "You" : sender.fullName);
    const text = li.querySelector(".msearch-result__snippet");
    for (const part of snippet) {
      if (part.match) {
        const mark = document.createElement("mark");
        mark.textContent = part.text;
        text.append(mark);
      } else text.append(document.createTextNode(part.text));
    }
    return li;
  }

  /** Open the conversation at `messageId`: its context loaded, scrolled to, highlighted. */
  async jump(conversationId, messageId) {
    if (!this.store.conversations.has(conversationId)) return;
    if (window.matchMedia("(max-width: 760px)").matches) this.hide();
    await this.open(conversationId);
    if (this.store.activeId !== conversationId) return;
    const conversation = this.store.conversations.get(conversationId);
    if (!conversation.messages.some((m) => m._id === messageId)) {
      try {
        await this.#loadAround(conversation, messageId);
      } catch (error) {
        setText(this.status, `Couldn't open that message: ${error.message}`);
        return;
      }
      if (this.store.activeId !== conversationId) return;
      this.render();
    }
    this.#highlight(messageId);
  }

  /**
   * The page around the message, joined to what we hold by the pages in between when they
   * are few; otherwise the window alone, the rest caught up like after a disconnect.
   */
  async #loadAround(conversation, messageId) {
    const id = encodeURIComponent(conversation.id);
    const path = `/api/conversations/${id}/messages`;
    const around = await api("GET", `${path}?around=${encodeURIComponent(messageId)}&limit=${CONTEXT}`);
    if (!around.length) return;
    const held = conversation.messages.find((m) => m._id);
    const newest = around[around.length - 1];
    if (held && held.seq - newest.seq <= FILL_PAGE * FILL_MAX) {
      const between = [];
      let after = newest._id;
      for (let n = 0; n < FILL_MAX; n += 1) {
        const page = await api("GET", `${path}?after=${encodeURIComponent(after)}&limit=${FILL_PAGE}`);
        between.push(...page);
        if (page.length < FILL_PAGE || page[page.length - 1].seq >= held.seq) break;
        after = page[page.length - 1]._id;
      }
      for (const message of [...around, ...between]) conversation.upsert(message);
    } else {
      // Too far back: hold the window only. What follows it is fetched as after a gap.
      conversation.messages = [...around, ...conversation.messages.filter((m) => !m._id)];
      conversation.syncedUpTo = newest._id;
      conversation.syncedSeq = newest.seq;
      conversation.gap = true;
    }
    conversation.hasMore = around[0].seq > 1;
  }

  #highlight(messageId) {
    if (this.found) this.found.removeAttribute("data-found");
    const element = document.querySelector(
      `#message-list .message[data-message-id="${CSS.escape(messageId)}"]`,
    );
    if (!element) return;
    element.setAttribute("data-found", "");
    element.scrollIntoView({ block: "center" });
    this.found = element;
    setTimeout(() => {
      if (this.found === element) element.removeAttribute("data-found");
    }, HIGHLIGHT_MS);
  }
}
