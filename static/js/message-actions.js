// What one can do with a message: a menu (hover button, long-press on touch, keyboard) with
// React, Reply, Copy text, Edit and Delete; reaction chips; reply quotes that jump to their
// original; file cards; live edits, deletions and reactions; re-reading the open history after
// a reconnection. conversation.js calls decorateMessage() for each bubble it renders.

import { deleteMessage, editMessage, toggleReaction } from "./actions-api.js";
import { $, setAttr, setText } from "./dom.js";
import { openEmojiPicker } from "./emoji-picker.js";
import { renderFileCard } from "./file-card.js";
import {
  applyChanged,
  applyDeleted,
  applyReactions,
  loadUpTo,
  refreshLoaded,
} from "./message-updates.js";
import { QUICK, renderReactions } from "./reactions.js";
import { ComposeBar, quoteOf, renderQuote } from "./reply.js";
import { openReportDialog } from "./report.js";
import { plainText } from "./richtext.js";

const LONG_PRESS = 500; // ms a finger rests on a message before its menu opens
const MOVE_TOLERANCE = 10; // px a resting finger may drift (more is a scroll)
const TOAST_FOR = 2_500; // ms
const DELETED = "This message was deleted";

/** The tombstone, the "edited" mark, quote, file card, chips and menu button of one bubble. */
export function decorateMessage(li, message, store) {
  const deleted = Boolean(message.deletedAt);
  const edited = Boolean(message.editedAt) && !deleted;
  li.classList.toggle("message--deleted", deleted);
  li.classList.toggle("message--edited", edited);
  const bubble = li.querySelector(".bubble");

  let tombstone = bubble.querySelector(":scope > .bubble__deleted");
  if (deleted && !tombstone) {
    tombstone = document.createElement("p");
    tombstone.className = "bubble__deleted";
    tombstone.textContent = DELETED;
    bubble.querySelector(".bubble__meta").before(tombstone);
  } else if (!deleted && tombstone) tombstone.remove();

  const meta = bubble.querySelector(".bubble__meta");
  let mark = meta.querySelector(".bubble__edited");
  if (edited && !mark) {
    mark = document.createElement("span");
    mark.className = "bubble__edited";
    mark.textContent = "edited";
    meta.prepend(mark);
  } else if (!edited && mark) mark.remove();
  if (edited) setAttr(mark, "title", `Edited ${new Date(message.editedAt).toLocaleString()}`);

  renderQuote(li, message, store);
  renderFileCard(li, message);
  renderReactions(li, message, store);

  const actionable = Boolean(message._id) && !deleted;
  const button = li.querySelector(":scope > .message__actions");
  if (actionable && !button) li.append(makeMenuButton());
  else if (!actionable && button) button.remove();
  if (!li.hasAttribute("tabindex")) li.setAttribute("tabindex", "-1");
}

function makeMenuButton() {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "message__actions";
  button.tabIndex = -1; // the message itself is the Tab stop; Enter opens this menu
  button.setAttribute("aria-label", "Message actions");
  button.setAttribute("aria-haspopup", "menu");
  button.textContent = "⋯";
  return button;
}

export class MessageActions {
  /**
   * `onChanged(conversationId, mode)` re-renders whatever shows that conversation; `composer`
   * is the Composer (errors, focus); `socket` the ChatSocket (live events, "ready").
   */
  constructor(store, { socket, composer, onChanged }) {
    this.store = store;
    this.composer = composer;
    this.onChanged = onChanged;
    this.list = $("#message-list");
    this.scroller = $("#messages");
    this.input = $("#message-input");
    this.menu = $("#message-menu");
    this.dialog = $("#delete-dialog");
    this.toast = $("#action-toast");
    this.bar = new ComposeBar({ onCancel: () => this.cancelCompose({ focus: true }) });
    this.target = null; // {conversationId, messageId, li} of the open menu
    this.compose = null; // {mode: "reply"|"edit", conversationId, message, draft}
    this.currentId = null; // the message that is the list's Tab stop
    this.press = null; // a finger resting on a message
    this.pressed = false; // a long-press opened the menu: swallow the click that follows
    this.readyCount = 0;
    this.toastTimer = null;
    this.pendingDelete = null;

    this.#buildReactRow();
    this.#wireList();
    this.#wireMenu();
    this.#wireComposer();
    this.#wireDialog();
    this.#wireSocket(socket);
  }

  // ---------- The list: clicks, keyboard, long-press ----------------------------------------

  #message(li) {
    const conversation = this.store.conversations.get(this.store.activeId);
    const id = li && li.dataset.messageId;
    if (!conversation || !id) return null;
    const index = conversation.find((m) => m._id === id);
    return index < 0 ? null : conversation.messages[index];
  }

  #wireList() {
    this.list.addEventListener(
      "click",
      (event) => {
        if (!this.pressed) return;
        // The finger lifted after a long-press: that is not a tap on a picture or a link.
        this.pressed = false;
        event.preventDefault();
        event.stopPropagation();
      },
      true,
    );
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest(".message__actions");
      if (button) {
        const li = button.closest(".message");
        if (this.target && this.target.li === li) this.closeMenu({ focus: true });
        else this.openFor(li, button);
        return;
      }
      const quote = event.target.closest(".quote");
      if (quote && quote.dataset.replyTo) {
        this.jumpTo(this.store.activeId, quote.dataset.replyTo);
        return;
      }
      const chip = event.target.closest(".reaction");
      if (chip) {
        const message = this.#message(chip.closest(".message"));
        if (message) this.react(message, chip.dataset.emoji);
      }
    });
    this.list.addEventListener("focusin", (event) => {
      if (event.target.matches(".message")) {
        this.currentId = event.target.dataset.messageId || null;
        this.afterRender();
      }
    });
    this.list.addEventListener("keydown", (event) => this.#onListKey(event));

    this.list.addEventListener("pointerdown", (event) => {
      this.pressed = false; // a long-press the browser ended without a click
      if (event.pointerType !== "touch") return;
      const li = event.target.closest(".message");
      if (!li || !li.querySelector(":scope > .message__actions")) return;
      this.#cancelPress();
      this.press = {
        x: event.clientX,
        y: event.clientY,
        timer: setTimeout(() => {
          this.press = null;
          this.pressed = true;
          if (navigator.vibrate) navigator.vibrate(10);
          this.openFor(li, li.querySelector(".bubble"));
        }, LONG_PRESS),
      };
    });
    this.list.addEventListener("pointermove", (event) => {
      if (!this.press) return;
      const moved = Math.hypot(event.clientX - this.press.x, event.clientY - this.press.y);
      if (moved > MOVE_TOLERANCE) this.#cancelPress();
    });
    for (const name of ["pointerup", "pointercancel"]) {
      this.list.addEventListener(name, () => this.#cancelPress());
    }
    this.list.addEventListener("contextmenu", (event) => {
      // A long-press's own menu replaces the browser's (text selection, "copy image").
      if (this.press || this.pressed) event.preventDefault();
    });
  }

  #cancelPress() {
    if (this.press) clearTimeout(this.press.timer);
    this.press = null;
  }

  #onListKey(event) {
    const li = event.target;
    if (!li.matches || !li.matches(".message")) return;
    const items = [...this.list.querySelectorAll(":scope > .message")];
    const at = items.indexOf(li);
    let next = null;
    if (event.key === "ArrowUp") next = items[at - 1];
    else if (event.key === "ArrowDown") next = items[at + 1];
    else if (event.key === "Home") next = items[0];
    else if (event.key === "End") next = items[items.length - 1];
    else if (
      event.key === "Enter" ||
      event.key === " " ||
      event.key === "ContextMenu" ||
      (event.key === "F10" && event.shiftKey)
    ) {
      event.preventDefault();
      this.openFor(li, li.querySelector(".bubble"));
      return;
    } else if (event.key === "Escape" && this.compose) {
      this.cancelCompose({ focus: true });
      return;
    }
    if (next === null) return;
    event.preventDefault();
    if (next) {
      next.focus();
      next.scrollIntoView({ block: "nearest" });
    }
  }

  /** After each render: exactly one message is the Tab stop (the last focused, or the newest). */
  afterRender() {
    const items = this.list.querySelectorAll(":scope > .message");
    if (!items.length) return;
    let current = null;
    if (this.currentId) {
      for (const li of items) if (li.dataset.messageId === this.currentId) current = li;
    }
    current = current || items[items.length - 1];
    for (const li of items) setAttr(li, "tabindex", li === current ? "0" : "-1");
    if (this.target && !this.target.li.isConnected) this.closeMenu();
  }

  // ---------- The menu ---------------------------------------------------------------------

  #buildReactRow() {
    const row = this.menu.querySelector(".action-menu__react");
    for (const emoji of QUICK) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "action-menu__emoji";
      button.setAttribute("role", "menuitem");
      button.setAttribute("aria-label", `React with ${emoji}`);
      button.dataset.emoji = emoji;
      button.textContent = emoji;
      row.insertBefore(button, row.querySelector("[data-action=more]"));
    }
  }

  #items() {
    return [...this.menu.querySelectorAll("[role=menuitem]")].filter((item) => !item.hidden);
  }

  /** Open the menu of the message `li`, next to `anchor`; focus goes to its first item. */
  openFor(li, anchor) {
    const message = this.#message(li);
    if (!message || message.deletedAt) return;
    this.closeMenu();
    const conversation = this.store.conversations.get(message.conversationId);
    const mine = this.store.isMine(message);
    const active = Boolean(conversation && conversation.active);
    const show = (action, visible) => {
      this.menu.querySelector(`[data-action=${action}]`).hidden = !visible;
    };
    this.menu.querySelector(".action-menu__react").hidden = !active;
    show("reply", active);
    show("copy", Boolean(message.text));
    show("edit", active && mine);
    show("delete", active && mine);
    show("report", !mine);
    if (!this.#items().length) return;
    this.target = { conversationId: message.conversationId, messageId: message._id, li };
    li.classList.add("message--menu");
    setAttr(li.querySelector(":scope > .message__actions"), "aria-expanded", "true");
    this.menu.hidden = false;
    this.#place(anchor || li, mine);
    this.#items()[0].focus({ preventScroll: true });
  }

  #place(anchor, mine) {
    const rect = anchor.getBoundingClientRect();
    const { offsetWidth: width, offsetHeight: height } = this.menu;
    const below = rect.bottom + 6 + height < window.innerHeight;
    const top = below ? rect.bottom + 6 : Math.max(8, rect.top - height - 6);
    let left = mine ? rect.right - width : rect.left;
    left = Math.min(Math.max(8, left), window.innerWidth - width - 8);
    this.menu.style.top = `${Math.round(top)}px`;
    this.menu.style.left = `${Math.round(left)}px`;
  }

  closeMenu({ focus = false } = {}) {
    if (!this.target) return;
    const { li } = this.target;
    this.target = null;
    this.menu.hidden = true;
    li.classList.remove("message--menu");
    const button = li.querySelector(":scope > .message__actions");
    if (button) setAttr(button, "aria-expanded", "false");
    if (focus && li.isConnected) li.focus({ preventScroll: true });
  }

  #wireMenu() {
    this.menu.addEventListener("keydown", (event) => {
      const items = this.#items();
      const at = items.indexOf(document.activeElement);
      const move = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
      if (move) {
        event.preventDefault();
        items[(at + move + items.length) % items.length].focus();
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        items[event.key === "Home" ? 0 : items.length - 1].focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.closeMenu({ focus: true });
      } else if (event.key === "Tab") {
        this.closeMenu({ focus: true });
      }
    });
    this.menu.addEventListener("click", (event) => {
      const item = event.target.closest("[role=menuitem]");
      if (!item || !this.target) return;
      const { li } = this.target;
      const message = this.#message(li);
      const action = item.dataset.action;
      if (action === "more") {
        this.closeMenu();
        // Anchored on the message: Escape in the picker gives the focus back to it.
        openEmojiPicker(li, (emoji) => message && this.react(message, emoji));
        return;
      }
      this.closeMenu({ focus: action === "copy" || Boolean(item.dataset.emoji) });
      if (!message) return;
      if (item.dataset.emoji) this.react(message, item.dataset.emoji);
      else if (action === "reply") this.startReply(message);
      else if (action === "copy") this.copy(message);
      else if (action === "edit") this.startEdit(message);
      else if (action === "delete") this.confirmDelete(message, li);
      else if (action === "report") openReportDialog(message);
    });
    document.addEventListener(
      "pointerdown",
      (event) => {
        if (this.target && !this.menu.contains(event.target)) {
          const own = event.target.closest && event.target.closest(".message__actions");
          if (!own || own.closest(".message") !== this.target.li) this.closeMenu();
        }
      },
      true,
    );
    this.scroller.addEventListener("scroll", () => this.closeMenu(), { passive: true });
    window.addEventListener("resize", () => this.closeMenu());
  }

  // ---------- Actions ----------------------------------------------------------------------

  showToast(text, { error = false } = {}) {
    clearTimeout(this.toastTimer);
    setText(this.toast, text);
    this.toast.classList.toggle("action-toast--error", error);
    this.toast.hidden = false;
    this.toastTimer = setTimeout(() => {
      this.toast.hidden = true;
    }, TOAST_FOR);
  }

  async copy(message) {
    try {
      await navigator.clipboard.writeText(message.text || "");
      this.showToast("Copied to clipboard");
    } catch {
      this.showToast("Couldn't copy: the browser refused", { error: true });
    }
  }

  async react(message, emoji) {
    try {
      const answer = await toggleReaction(message.conversationId, message._id, emoji);
      if (applyReactions(this.store, message.conversationId, answer.messageId, answer.reactions)) {
        this.onChanged(message.conversationId);
      }
    } catch (error) {
      this.showToast(`Couldn't react: ${error.message}`, { error: true });
    }
  }

  confirmDelete(message, li) {
    this.pendingDelete = { message, li };
    const quote = this.dialog.querySelector("#delete-dialog-quote");
    setText(quote, plainText(message.text) || (message.image ? "Photo" : message.file ? message.file.name : ""));
    this.dialog.showModal();
    this.dialog.querySelector("[data-action=cancel]").focus();
  }

  #wireDialog() {
    this.dialog.addEventListener("close", () => {
      const pending = this.pendingDelete;
      this.pendingDelete = null;
      if (!pending) return;
      if (this.dialog.returnValue === "delete") this.#delete(pending.message);
      if (pending.li.isConnected) pending.li.focus({ preventScroll: true });
    });
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close("cancel"); // the backdrop
    });
  }

  async #delete(message) {
    try {
      const tombstone = await deleteMessage(message.conversationId, message._id);
      applyChanged(this.store, { ...tombstone, conversationId: message.conversationId });
      this.onChanged(message.conversationId);
      this.showToast("Message deleted");
    } catch (error) {
      this.showToast(`Couldn't delete: ${error.message}`, { error: true });
    }
  }

  /** Scroll to a message (loading the history up to it first) and make it blink. */
  async jumpTo(conversationId, messageId) {
    const find = () => this.list.querySelector(`.message[data-message-id="${CSS.escape(messageId)}"]`);
    if (!find()) {
      this.showToast("Loading the original…");
      let held = false;
      try {
        held = await loadUpTo(this.store, conversationId, messageId);
      } catch (error) {
        const why = error.status === 404 ? "it isn't available to you" : error.message;
        this.showToast(`Couldn't show the original: ${why}`, { error: true });
        return;
      }
      if (this.store.activeId !== conversationId) return;
      this.onChanged(conversationId, "prepend");
      if (!held) {
        this.showToast("That message is too far back to show", { error: true });
        return;
      }
    }
    const li = find();
    if (!li) return;
    this.toast.hidden = true;
    this.currentId = messageId;
    this.afterRender();
    li.scrollIntoView({ block: "center" });
    li.focus({ preventScroll: true });
    li.classList.remove("message--highlight");
    void li.offsetWidth; // restart the animation when it is already running
    li.classList.add("message--highlight");
    li.addEventListener("animationend", () => li.classList.remove("message--highlight"), {
      once: true,
    });
  }

  // ---------- Reply and edit in the composer -----------------------------------------------

  startReply(message) {
    this.cancelCompose();
    this.compose = { mode: "reply", conversationId: message.conversationId, message };
    const who = this.store.name(message.senderId, { you: true });
    const line = plainText(message.text) || (message.image ? "Photo" : message.file ? message.file.name : "");
    this.bar.show("reply", `Replying to ${who}`, line);
    this.composer.focus();
  }

  startEdit(message) {
    this.cancelCompose();
    this.compose = {
      mode: "edit",
      conversationId: message.conversationId,
      message,
      draft: this.input.value,
    };
    this.bar.show("edit", "Editing message", plainText(message.text));
    this.#setInput(message.text || "");
    this.composer.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  #setInput(value) {
    this.input.value = value;
    // The composer sizes itself and enables Send on input.
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /** Leave reply or edit mode (an edit gives the draft back). */
  cancelCompose({ focus = false } = {}) {
    const compose = this.compose;
    this.compose = null;
    this.bar.hide();
    if (compose && compose.mode === "edit") this.#setInput(compose.draft || "");
    if (focus) this.composer.focus();
  }

  /** The composer's send: true when it was an edit (done here), else the caller sends. */
  handleSubmit(conversationId, { text }) {
    const compose = this.compose;
    if (!compose || compose.mode !== "edit" || compose.conversationId !== conversationId) {
      return false;
    }
    this.compose = null;
    this.bar.hide();
    const { message, draft } = compose;
    queueMicrotask(() => {
      if (draft) this.#setInput(draft); // the composer emptied the box after this send
    });
    if (text !== (message.text || "").trim()) this.#edit(message, text, draft);
    return true;
  }

  async #edit(message, text, draft) {
    try {
      const saved = await editMessage(message.conversationId, message._id, text);
      applyChanged(this.store, { ...saved, conversationId: message.conversationId });
      this.onChanged(message.conversationId);
    } catch (error) {
      // Nothing lost: the new text comes back into the box, still editing.
      this.compose = { mode: "edit", conversationId: message.conversationId, message, draft };
      this.bar.show("edit", "Editing message", plainText(message.text));
      this.#setInput(text);
      this.composer.showError(`Couldn't edit: ${error.message}`);
    }
  }

  /** The quote to send with the next message of this conversation (reply mode ends). */
  takeReply(conversationId) {
    const compose = this.compose;
    if (!compose || compose.mode !== "reply" || compose.conversationId !== conversationId) {
      return null;
    }
    this.compose = null;
    this.bar.hide();
    return quoteOf(compose.message);
  }

  #wireComposer() {
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.compose) {
        event.preventDefault();
        this.cancelCompose({ focus: true });
        return;
      }
      const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
      if (event.key === "ArrowUp" && plain && !this.input.value && !this.compose) {
        const last = this.#lastOwn();
        if (last) {
          event.preventDefault();
          this.startEdit(last);
        }
      }
    });
  }

  #lastOwn() {
    const conversation = this.store.conversations.get(this.store.activeId);
    if (!conversation || !conversation.active) return null;
    for (let i = conversation.messages.length - 1; i >= 0; i -= 1) {
      const m = conversation.messages[i];
      if (m._id && m.kind !== "system" && this.store.isMine(m) && !m.deletedAt && m.text) return m;
    }
    return null;
  }

  // ---------- Live events and catching up --------------------------------------------------

  #wireSocket(socket) {
    socket.addEventListener("messageUpdated", (event) => {
      const message = event.detail && event.detail.message;
      const conversation = message && applyChanged(this.store, message);
      if (conversation) this.onChanged(conversation.id);
    });
    socket.addEventListener("messageDeleted", (event) => {
      const data = event.detail || {};
      const conversation = applyDeleted(this.store, data);
      if (!conversation) return;
      if (this.target && this.target.messageId === data._id) this.closeMenu();
      if (this.compose && this.compose.message._id === data._id) {
        this.cancelCompose();
        this.showToast("That message was just deleted", { error: true });
      }
      this.onChanged(conversation.id);
    });
    socket.addEventListener("reactionChanged", (event) => {
      const { conversationId, messageId, reactions } = event.detail || {};
      if (applyReactions(this.store, conversationId, messageId, reactions)) {
        this.onChanged(conversationId);
      }
    });
    socket.addEventListener("ready", () => {
      this.readyCount += 1;
      if (this.readyCount === 1) return; // the first connection: pages are read fresh anyway
      for (const conversation of this.store.conversations.values()) {
        if (conversation.loaded) conversation.actionsStale = true;
      }
      if (this.store.activeId) this.refresh(this.store.activeId);
    });
  }

  /** Re-read a conversation's loaded messages when they may be stale (after a reconnection). */
  async refresh(conversationId) {
    const conversation = this.store.conversations.get(conversationId);
    if (!conversation || !conversation.actionsStale) return;
    try {
      await refreshLoaded(this.store, conversationId);
    } catch {
      conversation.actionsStale = true; // the next opening or reconnection tries again
      return;
    }
    this.onChanged(conversationId);
  }
}
