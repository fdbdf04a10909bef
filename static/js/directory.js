// "New chat" searches the directory as you type (debounced) instead of loading every account.
// Before anything is typed it suggests the people you already talk with.

import { searchDirectory } from "./safety-api.js";

const DEBOUNCE_MS = 250;

export class DirectorySearch {
  /** `picker`: a PeoplePicker made with `remote: true`; its list is whatever we put in it. */
  constructor(picker, store) {
    this.picker = picker;
    this.store = store;
    this.timer = null;
    this.controller = null;
    this.running = null; // the promise of the search in flight
    picker.search.addEventListener("input", () => this.#schedule());
    // Enter or the down arrow before the answer came: search now, then act on it.
    picker.flush = () => this.#flush();
  }

  #flush() {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
      const q = this.picker.search.value.trim();
      if (q) return this.#run(q);
    }
    return this.running;
  }

  /** The dialog opened: suggestions first. */
  start() {
    this.#cancel();
    this.picker.reset(this.#suggestions());
    this.picker.showStatus(
      this.picker.people.length ? "" : "Type a name or an email address to find someone.",
    );
  }

  #suggestions() {
    const seen = new Map();
    for (const conversation of this.store.sorted()) {
      if (conversation.isGroup || !conversation.peerId) continue;
      const user = this.store.users.get(conversation.peerId);
      if (user && !this.store.blocked.has(user._id)) seen.set(user._id, user);
    }
    return [...seen.values()];
  }

  #cancel() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.running = null;
  }

  #schedule() {
    this.#cancel();
    const q = this.picker.search.value.trim();
    if (!q) {
      this.picker.setPeople(this.#suggestions(), "");
      return;
    }
    this.picker.showStatus("Searching…");
    this.timer = setTimeout(() => {
      this.timer = null;
      this.#run(q);
    }, DEBOUNCE_MS);
  }

  #run(q) {
    const running = this.#search(q);
    this.running = running;
    running.finally(() => {
      if (this.running === running) this.running = null;
    });
    return running;
  }

  async #search(q) {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    let people;
    try {
      people = await searchDirectory(q, { signal: controller.signal });
    } catch (error) {
      if (error.name === "AbortError") return;
      this.picker.setPeople([], `Couldn't search: ${error.message}`);
      return;
    }
    if (this.controller !== controller) return; // a newer search is on its way
    for (const user of people) {
      const { email, ...rest } = user; // null for strangers: keep what we knew
      this.store.rememberUser(email ? user : rest);
    }
    this.picker.setPeople(people, people.length ? "" : `No one found for “${q}”.`);
  }
}
