// Sending: the message shows at once (optimistic) with a clientId; sends go out one at a time
// so they keep their order; offline sends wait for the connection; a failed send can be
// retried with the same clientId, which the server answers with the first copy (no duplicate).
// Text goes over the open WebSocket (`sendMessage`, answered by `messageSent`/`messageFailed`);
// pictures, and any send the socket can't answer, go over REST with the same clientId.

import { api, ApiError } from "./api.js";
import { uploadAttachment } from "./attach.js";
import { newClientId } from "./ids.js";

const SOCKET_ANSWER_WITHIN = 10_000; // ms; then the same clientId goes over REST (no duplicate)

export class Outbox {
  constructor(store, { onChange, socket = null }) {
    this.store = store;
    this.onChange = onChange; // (conversationId, {own}) -> re-render
    this.socket = socket;
    this.chain = Promise.resolve();
    this.waiting = []; // messages held until the connection is back, oldest first
    this.retryTimer = null;
    this.retryAttempt = 0;
    this.answers = new Map(); // clientId -> {resolve, reject} for sends over the socket
    if (socket) {
      socket.addEventListener("messageSent", (event) => this.#answer(event.detail, null));
      socket.addEventListener("messageFailed", (event) => this.#answer(null, event.detail));
      socket.addEventListener("close", () => this.#dropAnswers());
    }
  }

  #answer(sent, failed) {
    const clientId = (sent || failed || {}).clientId;
    const waiter = clientId && this.answers.get(clientId);
    if (!waiter) return;
    this.answers.delete(clientId);
    if (sent) waiter.resolve(sent.message);
    else {
      const error = new ApiError(failed.message || "Not sent.", failed.status || 400, failed);
      error.retryAfter = failed.retryAfter;
      waiter.reject(error);
    }
  }

  /** The socket closed: its unanswered sends may or may not be stored; REST will tell. */
  #dropAnswers() {
    for (const waiter of this.answers.values()) waiter.reject(new ApiError("socket closed", 0));
    this.answers.clear();
  }

  /** Send text over the socket; resolves with the stored message, rejects with ApiError. */
  #overSocket(message) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(message.clientId);
        reject(new ApiError("no answer", 0));
      }, SOCKET_ANSWER_WITHIN);
      const done = (fn) => (value) => {
        clearTimeout(timer);
        fn(value);
      };
      this.answers.set(message.clientId, { resolve: done(resolve), reject: done(reject) });
      const sent = this.socket.send("sendMessage", {
        conversationId: message.conversationId,
        text: message.text,
        clientId: message.clientId,
        replyTo: message.replyTo ? message.replyTo._id : undefined,
      });
      if (!sent) this.#answer(null, { clientId: message.clientId, status: 0, message: "closed" });
    });
  }

  async #deliver(message) {
    if (message.localFile && !message.attachmentId) {
      // Step one of a file send; a retry after this point reuses the upload.
      const attachment = await uploadAttachment(message.conversationId, message.localFile);
      message.attachmentId = attachment._id;
    }
    if (!message.localImage && !message.localFile && this.socket && this.socket.isOpen) {
      try {
        return await this.#overSocket(message);
      } catch (error) {
        // Refused for a reason REST would give too: don't ask twice. Otherwise (no answer,
        // socket gone) REST settles it; the clientId makes a double send impossible.
        if (!error.isNetwork) throw error;
      }
    }
    const path = `/api/conversations/${encodeURIComponent(message.conversationId)}/messages`;
    const body = { text: message.text, image: message.localImage, clientId: message.clientId };
    if (message.attachmentId) body.attachmentId = message.attachmentId;
    if (message.replyTo) body.replyTo = message.replyTo._id;
    return api("POST", path, body);
  }

  /** `replyTo`: the quote of the message this answers (message-actions.js), or null. */
  send(conversationId, { text, image, file = null, replyTo = null }) {
    const conversation = this.store.conversation(conversationId);
    const message = {
      clientId: newClientId(),
      conversationId,
      senderId: this.store.me._id,
      receiverId: conversation.isGroup ? null : conversation.peerId,
      text: text || "",
      image: null,
      localImage: image || null,
      localFile: file,
      replyTo: replyTo || null,
      createdAt: new Date().toISOString(),
      deliveredAt: null,
      readAt: null,
      status: navigator.onLine ? "sending" : "queued",
    };
    this.store.addLocal(message);
    this.onChange(conversationId, { own: true });
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
        this.#set(message, { status: "sending", error: null, retryable: null });
        this.#enqueue(message);
        return;
      }
    }
  }

  /** Forget a failed (or waiting) message: it leaves the conversation and is never sent. */
  discard(clientId) {
    this.waiting = this.waiting.filter((m) => m.clientId !== clientId);
    const conversation = this.store.removeLocal(clientId);
    if (conversation) this.onChange(conversation.id, {});
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
    this.onChange(message.conversationId, {});
  }

  async #attempt(message) {
    if (!navigator.onLine) {
      this.#hold(message);
      return;
    }
    try {
      const saved = await this.#deliver(message);
      this.retryAttempt = 0;
      this.store.applyMessage(saved);
      this.onChange(message.conversationId, {});
    } catch (error) {
      if (error.status === 503) {
        // The server is busy, not refusing: keep it queued and try again when it says.
        this.#hold(message, { status: "queued" });
        this.#retryLater((error.retryAfter || 1) * 1000);
      } else if (!error.isNetwork) {
        // Busy (429) or broken (5xx) may pass; a refusal (4xx) never will.
        const retryable = error.status === 429 || error.status >= 500;
        this.#set(message, { status: "failed", error: error.message, retryable });
      }
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
  #retryLater(after = null) {
    if (this.retryTimer) return;
    const delay = after ?? Math.min(30_000, 1_000 * 2 ** this.retryAttempt);
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
