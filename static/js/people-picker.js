// Dialog plumbing and the people search shared by "New chat", "New group" and "Add people".
//
// Dialogs are <dialog>s in chat.html opened with showModal(): the browser keeps the focus inside,
// Escape closes them, and the focus goes back to the control that opened them.

import { $, cloneTemplate, reconcile, safeUrl, setText } from "./dom.js";

/**
 * Open a modal dialog, focus `focus` (or its first field), and give the focus back to the
 * opener on close, unless what the dialog did moved it somewhere on purpose.
 */
export function openModal(dialog, focus = null) {
  const opener = document.activeElement;
  dialog.addEventListener(
    "close",
    () => {
      const now = document.activeElement;
      const lost = !now || now === document.body || dialog.contains(now);
      if (lost && opener && opener.isConnected && typeof opener.focus === "function") {
        opener.focus();
      }
    },
    { once: true },
  );
  dialog.showModal();
  const target = focus || dialog.querySelector("input:not([type=hidden]), button");
  if (target) target.focus();
}

/** Close on a click on the backdrop (outside the dialog's box) or on a [data-close-dialog]. */
export function dismissable(dialog) {
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog || event.target.closest("[data-close-dialog]")) dialog.close();
  });
}

/**
 * A search box over a list of people. `multiple`: checkboxes, the chosen shown as removable
 * chips; otherwise one button per person and `onPick(userId)`. Enter in the search box takes
 * the first match (and clears the search, to look for the next one).
 */
export class PeoplePicker {
  constructor(
    root,
    store,
    { defaultAvatar, multiple = false, onPick = null, onChange = null, remote = false },
  ) {
    this.store = store;
    // remote: the list is the server's answer to the search (directory.js), not filtered here.
    this.remote = remote;
    this.defaultAvatar = defaultAvatar;
    this.multiple = multiple;
    this.onPick = onPick;
    this.onChange = onChange;
    this.search = $(".picker__search", root);
    this.list = $(".picker__list", root);
    this.status = $(".picker__status", root);
    this.chips = multiple ? $(".picker__chips", root) : null;
    this.items = new Map(); // userId -> <li>
    this.chipNodes = new Map();
    this.people = [];
    this.exclude = new Set();
    this.chosen = new Set();

    if (!remote) this.search.addEventListener("input", () => this.render());
    this.search.addEventListener("keydown", (event) => this.#onSearchKey(event));
    this.list.addEventListener("change", (event) => {
      const box = event.target.closest(".pick__check");
      if (!box) return;
      this.#toggle(box.closest(".pick").dataset.userId, box.checked);
    });
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button.pick__label");
      if (button && this.onPick) this.onPick(button.closest(".pick").dataset.userId);
    });
    this.list.addEventListener("keydown", (event) => this.#onListKey(event));
    if (this.chips) {
      this.chips.addEventListener("click", (event) => {
        const chip = event.target.closest(".chip");
        if (!chip) return;
        this.#toggle(chip.dataset.userId, false);
        this.search.focus();
      });
    }
  }

  /** Start over with this list of people (User shapes), leaving out `exclude` (ids). */
  reset(people, exclude = []) {
    this.people = people.filter(
      (user) => user._id !== this.store.me._id && !exclude.includes(user._id),
    );
    if (!this.remote) this.people.sort((a, b) => a.fullName.localeCompare(b.fullName));
    this.chosen.clear();
    this.search.value = "";
    this.render();
  }

  /** (remote) The server's answer for what is typed now: shown as it is, in its order. */
  setPeople(people, status) {
    this.people = people.filter((user) => user._id !== this.store.me._id);
    this.render();
    this.showStatus(status);
  }

  showStatus(text) {
    setText(this.status, text);
  }

  get chosenIds() {
    return [...this.chosen];
  }

  #visible(typed = this.search.value) {
    const query = typed.trim().toLocaleLowerCase();
    if (!query || this.remote) return this.people;
    return this.people.filter(
      (user) =>
        user.fullName.toLocaleLowerCase().includes(query) ||
        (user.email || "").toLocaleLowerCase().startsWith(query),
    );
  }

  render() {
    const visible = this.#visible();
    reconcile(
      this.list,
      visible.map((user) => this.#item(user)),
    );
    if (this.remote) {
      // directory.js says what the list means (suggestions, searching, nothing found).
    } else if (!this.people.length) this.showStatus("There is no one else here yet.");
    else if (!visible.length) this.showStatus(`No one is called “${this.search.value.trim()}”.`);
    else this.showStatus("");
    if (this.chips) {
      const chosen = this.people.filter((user) => this.chosen.has(user._id));
      reconcile(
        this.chips,
        chosen.map((user) => this.#chip(user)),
      );
      this.chips.hidden = chosen.length === 0;
    }
  }

  #item(user) {
    let li = this.items.get(user._id);
    if (!li) {
      li = cloneTemplate(this.multiple ? "pick-check-template" : "pick-button-template");
      li.dataset.userId = user._id;
      this.items.set(user._id, li);
    }
    const img = li.querySelector(".pick__avatar");
    const src = safeUrl(user.profilePic) || this.defaultAvatar;
    if (img.getAttribute("src") !== src) img.src = src;
    setText(li.querySelector(".pick__name"), user.fullName);
    setText(li.querySelector(".pick__email"), user.email || "");
    const online = this.store.online.has(user._id);
    li.querySelector(".dot").hidden = !online;
    if (this.multiple) li.querySelector(".pick__check").checked = this.chosen.has(user._id);
    return li;
  }

  #chip(user) {
    let chip = this.chipNodes.get(user._id);
    if (!chip) {
      chip = cloneTemplate("chip-template");
      chip.dataset.userId = user._id;
      this.chipNodes.set(user._id, chip);
    }
    setText(chip.querySelector(".chip__name"), user.fullName);
    chip.querySelector(".chip__button").setAttribute("aria-label", `Remove ${user.fullName}`);
    return chip;
  }

  #toggle(userId, on) {
    if (on) this.chosen.add(userId);
    else this.chosen.delete(userId);
    this.render();
    if (this.onChange) this.onChange(this.chosenIds);
  }

  #controls() {
    return [...this.list.querySelectorAll(this.multiple ? ".pick__check" : "button.pick__label")];
  }

  #onSearchKey(event) {
    if (event.key === "ArrowDown") {
      // (remote) A search still on its way: act once its answer is shown.
      const waiting = this.flush ? this.flush() : null;
      if (waiting) {
        event.preventDefault();
        waiting.then(() => this.#focusFirst());
      } else if (this.#focusFirst()) event.preventDefault();
      return;
    }
    if (event.key !== "Enter" || event.isComposing || !this.search.value.trim()) return;
    // With a query, Enter takes the first match (never submits the form by accident); with
    // none, it does what Enter does in a form: submit it (create the group, add the people).
    event.preventDefault();
    // The list may still be on its way: act on what was typed when Enter was pressed, once
    // it is shown (a fast typist's "bob Enter carol Enter" must choose both).
    const typed = this.search.value;
    const waiting = this.flush ? this.flush() : null;
    if (waiting) {
      if (this.multiple) this.search.value = ""; // taken: the next name starts afresh
      waiting.then(() => this.#takeFirst(typed));
    } else this.#takeFirst(typed);
  }

  #focusFirst() {
    const first = this.#controls()[0];
    if (first) first.focus();
    return Boolean(first);
  }

  #takeFirst(typed) {
    const [first] = this.#visible(typed);
    if (!first) return;
    if (!this.multiple) {
      this.onPick(first._id);
      return;
    }
    if (this.search.value === typed) this.search.value = "";
    this.#toggle(first._id, true);
  }

  /** Up and down walk the people; Up from the first goes back to the search box. */
  #onListKey(event) {
    const controls = this.#controls();
    const index = controls.indexOf(document.activeElement);
    if (index < 0 || !["ArrowDown", "ArrowUp"].includes(event.key)) return;
    event.preventDefault();
    const next = index + (event.key === "ArrowDown" ? 1 : -1);
    if (next < 0) this.search.focus();
    else controls[Math.min(next, controls.length - 1)].focus();
  }
}
