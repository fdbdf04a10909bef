// Loading what the server holds into the store: the sidebar, a conversation's members, pages
// of history and the catch-up after a gap or a disconnect (nothing missed, nothing twice).
// No rendering here: callers re-render once a promise settles.

import { getConversation, listConversations, messagesPage } from "./conversations-api.js";

export const PAGE = 50;
const CATCH_UP_PAGE = 100;

export class Sync {
  constructor(store) {
    this.store = store;
    this.sidebarRequest = null;
    this.detailRequests = new Map(); // conversationId -> promise
    this.pending = []; // live messages of conversations the sidebar didn't have yet
  }

  /**
   * Fetch the sidebar (coalesced: many triggers, one request at a time). Resolves with
   * `behind`, the conversations whose history we hold but that moved on meanwhile, and
   * `arrived`, held live messages that are now their conversation's newest; may reject.
   */
  fetchSidebar() {
    if (!this.sidebarRequest) {
      this.sidebarRequest = listConversations()
        .then((list) => {
          const behind = this.store.setConversations(list);
          // Messages that arrived before their conversation was known: the server's counts
          // may or may not include them; seqs tell (nothing is counted twice).
          const pending = this.pending;
          this.pending = [];
          const arrived = [];
          for (const message of pending) {
            const { conversation, incoming } = this.store.applyMessage(message);
            if (conversation && incoming && message.seq === conversation.lastSeq) {
              arrived.push({ conversation, message });
            }
          }
          return { behind, arrived };
        })
        .finally(() => {
          this.sidebarRequest = null;
        });
    }
    return this.sidebarRequest;
  }

  /** A live message for a conversation we don't know yet: keep it for the next sidebar. */
  hold(message) {
    this.pending.push(message);
  }

  /** Members (with their users, roles and read cursors) of one conversation; coalesced. */
  fetchDetail(conversationId) {
    let request = this.detailRequests.get(conversationId);
    if (!request) {
      request = getConversation(conversationId)
        .then((detail) => this.store.upsertConversation(detail))
        .finally(() => this.detailRequests.delete(conversationId));
      this.detailRequests.set(conversationId, request);
    }
    return request;
  }

  async loadLatest(conversationId) {
    const conversation = this.store.conversation(conversationId);
    const page = await messagesPage(conversationId, { limit: PAGE });
    page.forEach((message) => this.store.applyMessage(message));
    conversation.loaded = true;
    conversation.gap = false;
    conversation.confirm(page.length ? page[page.length - 1] : null);
    conversation.hasMore = page.length >= PAGE;
  }

  /** Whether an older page may exist and isn't being fetched already. */
  canLoadOlder(conversationId) {
    const conversation = this.store.conversations.get(conversationId);
    return Boolean(
      conversation &&
        conversation.loaded &&
        conversation.hasMore &&
        !conversation.loadingOlder &&
        conversation.oldestServerId,
    );
  }

  /** The page before the oldest we hold (check canLoadOlder first). */
  async loadOlder(conversationId) {
    const conversation = this.store.conversation(conversationId);
    const before = conversation.oldestServerId;
    conversation.loadingOlder = true;
    try {
      const page = await messagesPage(conversationId, { before, limit: PAGE });
      page.forEach((message) => conversation.upsert(message));
      conversation.hasMore = page.length >= PAGE;
    } finally {
      conversation.loadingOlder = false;
    }
  }

  /**
   * Everything after the newest message we are sure of, page after page. The cursor is
   * `syncedUpTo`, never the newest live frame, which may sit past a gap.
   */
  async catchUpConversation(conversationId) {
    const conversation = this.store.conversation(conversationId);
    if (conversation.syncedUpTo === null) {
      await this.loadLatest(conversationId);
      return;
    }
    conversation.gap = false;
    for (;;) {
      const after = conversation.syncedUpTo;
      let page;
      try {
        page = await messagesPage(conversationId, { after, limit: CATCH_UP_PAGE });
      } catch (error) {
        if (error.status !== 404) {
          conversation.gap = true;
          throw error;
        }
        // Our cursor message was deleted (moderation): start again from the newest page.
        conversation.messages = conversation.messages.filter((m) => !m._id);
        conversation.syncedUpTo = null;
        conversation.syncedSeq = 0;
        conversation.hasMore = true;
        await this.loadLatest(conversationId);
        return;
      }
      page.forEach((message) => this.store.applyMessage(message));
      if (!after) {
        // The conversation was empty when we loaded it: this is the newest page, oldest first.
        conversation.confirm(page.length ? page[page.length - 1] : null);
        conversation.hasMore = page.length >= CATCH_UP_PAGE;
        return;
      }
      if (page.length) conversation.confirm(page[page.length - 1]);
      if (page.length < CATCH_UP_PAGE) break;
    }
  }
}
