// Sending: the message shows at once (optimistic) with a clientId; sends go out one at a time
// so they keep their order; offline sends wait for the connection; a failed send can be
// retried with the same clientId, which the server answers with the first copy (no duplicate).

import { api } from "./api.js";
import { newClientId } from "./ids.js";

export class Outbox {
  constructor(store, { onChange }) {
    this.store = store;
    this.onChange = onChange; // (peerId, {own}) -> re-render
    this.chain = Promise.resolve();
    this.waiting = []; // messages held until the connection is back, oldest first
    this.retryTimer = null;
    this.retryAttempt = 0;
  }

  send(peerId, { text, image }) {
    const message = {
      clientId: newClientId(),
      senderId: this.store.me._id,
      receiverId: peerId,
      text: text || "",
      image: null,
      localImage: image || null,
      createdAt: new Date().toISOString(),
      deliveredAt: null,
      readAt: null,
      status: navigator.onLine ? "sending" : "queued",
    };
    this.store.addLocal(message);
    this.onChange(peerId, { own: true });
    this.#enqueue(message);
  }

  /** Try a failed message again (same clientId). */
  retry(clientId) {
    this.waiting = this.waiting.filter((m) => m.clientId !== clientId);
    for (const conversation of this.store.conversations.values()) {
      const message = conversation.messages.find(
        (m) => m.clientId === clientId && !m._id && this.store.isMine(m),
      );
      if (message) {
        this.#set(message, { status: "sending", error: null });
        this.#enqueue(message);
        return;
      }
    }
  }

  /** The connection is back: send what waited, in order. */
  flush() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const waiting = this.waiting;
    this.waiting = [];
    for (const message of waiting) {
      this.#set(message, { status: "sending", error: null });
      this.#enqueue(message);
    }
  }

  #enqueue(message) {
    this.chain = this.chain.then(() => this.#attempt(message));
  }

  #set(message, changes) {
    this.store.updateLocal(message, changes);
    this.onChange(message.receiverId, {});
  }

  async #attempt(message) {
    if (!navigator.onLine) {
      this.#hold(message);
      return;
    }
    try {
      const saved = await api("POST", `/api/messages/send/${encodeURIComponent(message.receiverId)}`, {
        text: message.text,
        image: message.localImage,
        clientId: message.clientId,
      });
      this.retryAttempt = 0;
      this.store.applyMessage(saved);
      this.onChange(message.receiverId, {});
    } catch (error) {
      if (!error.isNetwork) this.#set(message, { status: "failed", error: error.message });
      else if (!navigator.onLine) this.#hold(message);
      else {
        // Online but unreachable (server restarting?): say so, and try again by itself
        // when the socket is back. The request may have arrived: the clientId makes that safe.
        this.#hold(message, { status: "failed", error: "Couldn't reach Parley." });
        this.#retryLater();
      }
    }
  }

  /** Try the held messages again after a growing pause (the socket coming back also does). */
  #retryLater() {
    if (this.retryTimer) return;
    const delay = Math.min(30_000, 1_000 * 2 ** this.retryAttempt);
    this.retryAttempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (navigator.onLine) this.flush();
    }, delay);
  }

  #hold(message, changes = { status: "queued" }) {
    if (!this.waiting.includes(message)) this.waiting.push(message);
    this.#set(message, changes);
  }
}
