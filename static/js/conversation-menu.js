// The conversation header's menu: mute or unmute it, block or unblock the other person of a
// direct conversation. Keeps `store.blocked` (the people I block) from GET /api/blocks and the
// `blockChanged` / `conversationMuted` events my other tabs cause (docs/SAFETY.md).

import { $, setText } from "./dom.js";
import { blockUser, listBlocks, muteConversation, unblockUser } from "./safety-api.js";

export const BLOCKED_READONLY = "You blocked this person. Unblock them to send messages.";

export class ConversationMenu {
  /** `onChange(conversationId | null)`: re-render what shows it (null: everything). */
  constructor(store, socket, { onChange, announce }) {
    this.store = store;
    this.onChange = onChange;
    this.announce = announce;
    this.button = $("#conv-menu-button");
    this.list = $("#conv-menu");
    this.mute = $("#conv-menu-mute");
    this.block = $("#conv-menu-block");

    this.button.addEventListener("click", () => (this.list.hidden ? this.open() : this.close()));
    this.mute.addEventListener("click", () => this.#toggleMute());
    this.block.addEventListener("click", () => this.#toggleBlock());
    this.list.addEventListener("keydown", (event) => this.#onKey(event));
    document.addEventListener("click", (event) => {
      if (!this.list.hidden && !event.target.closest(".conv-menu")) this.close();
    });
    socket.addEventListener("blockChanged", (event) => {
      const { userId, blocked } = event.detail || {};
      if (!userId) return;
      this.#setBlocked(userId, blocked);
    });
    socket.addEventListener("conversationMuted", (event) => {
      const { conversationId, muted } = event.detail || {};
      const conversation = this.store.conversations.get(conversationId);
      if (!conversation || typeof muted !== "boolean") return;
      conversation.muted = muted;
      this.onChange(conversationId);
    });
  }

  /** The people I block, from the server (at start and after a reconnection). */
  async load() {
    try {
      const blocks = await listBlocks();
      this.store.blocked = new Set(blocks.map((b) => b._id));
    } catch {
      return; // the menu still works; the list comes with the next reconnection
    }
    this.onChange(null);
  }

  get conversation() {
    return this.store.activeId ? this.store.conversations.get(this.store.activeId) : null;
  }

  /** Labels for the open conversation. */
  render() {
    const conversation = this.conversation;
    if (!conversation) {
      this.close();
      return;
    }
    setText(this.mute, conversation.muted ? "Unmute notifications" : "Mute notifications");
    const peer = conversation.isGroup ? null : conversation.peerId;
    this.block.hidden = !peer;
    if (peer) {
      const name = this.store.name(peer);
      setText(this.block, this.store.blocked.has(peer) ? `Unblock ${name}` : `Block ${name}`);
    }
  }

  open() {
    this.render();
    this.list.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.mute.focus();
  }

  close({ focus = false } = {}) {
    if (this.list.hidden) return;
    this.list.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (focus) this.button.focus();
  }

  #onKey(event) {
    const items = [this.mute, this.block].filter((item) => !item.hidden);
    const index = items.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      this.close({ focus: true });
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      items[(index + step + items.length) % items.length].focus();
    }
  }

  #setBlocked(userId, blocked) {
    if (blocked) this.store.blocked.add(userId);
    else this.store.blocked.delete(userId);
    const conversation = this.store.directWith(userId);
    this.onChange(conversation ? conversation.id : null);
    this.render();
  }

  async #toggleMute() {
    const conversation = this.conversation;
    this.close({ focus: true });
    if (!conversation) return;
    const muted = !conversation.muted;
    try {
      await muteConversation(conversation.id, muted);
    } catch (error) {
      this.announce(`Couldn't change notifications: ${error.message}`);
      return;
    }
    conversation.muted = muted;
    this.announce(muted ? "Muted: no notifications from this chat." : "Notifications are on.");
    this.onChange(conversation.id);
  }

  async #toggleBlock() {
    const conversation = this.conversation;
    const peer = conversation && !conversation.isGroup ? conversation.peerId : null;
    this.close({ focus: true });
    if (!peer) return;
    const name = this.store.name(peer);
    const blocking = !this.store.blocked.has(peer);
    if (
      blocking &&
      !window.confirm(
        `Block ${name}? Neither of you can message the other, you stop seeing each other ` +
          "online or typing, and this chat leaves your list. They are not told.",
      )
    ) {
      return;
    }
    try {
      if (blocking) await blockUser(peer);
      else await unblockUser(peer);
    } catch (error) {
      this.announce(`Couldn't ${blocking ? "block" : "unblock"} ${name}: ${error.message}`);
      return;
    }
    this.announce(blocking ? `You blocked ${name}.` : `You unblocked ${name}.`);
    this.#setBlocked(peer, blocking);
  }
}
