// Edits, deletions and reactions applied to what the store holds (no DOM): from the live events
// (`messageUpdated`, `messageDeleted`, `reactionChanged`), from our own actions' answers, and
// from re-reading the loaded pages after a reconnection (docs/REALTIME.md, "Edits, deletions
// and reactions missed while away"). Only messages we hold change: nothing here inserts a
// message into a history (that would leave a hole the gap logic cannot see).

import { messagesNear } from "./actions-api.js";

const QUOTE_CHARS = 200; // the server's quote is the original's first 200 characters
const REFRESH_PAGE = 100;

/** Where a message sits: `{conversation, index}`, or null when we don't hold it. */
function locate(store, conversationId, messageId) {
  const conversation = store.conversations.get(conversationId);
  if (!conversation || !messageId) return null;
  const index = conversation.find((m) => m._id === messageId);
  return index < 0 ? { conversation, index: -1 } : { conversation, index };
}

/** The quotes of replies to `original` follow it (an edit, a deletion). */
function requote(conversation, original) {
  for (const [i, m] of conversation.messages.entries()) {
    if (!m.replyTo || m.replyTo._id !== original._id) continue;
    conversation.messages[i] = {
      ...m,
      replyTo: original.deletedAt
        ? { ...m.replyTo, text: null, image: false, deleted: true }
        : {
            ...m.replyTo,
            text: original.text ? original.text.slice(0, QUOTE_CHARS) : null,
            image: Boolean(original.image),
            deleted: false,
          },
    };
  }
}

function replaceLast(conversation, message) {
  const last = conversation.lastMessage;
  if (last && last._id === message._id) conversation.lastMessage = { ...last, ...message };
}

/** A newer copy of a message we may hold (an edit, our own action's answer, a re-read page). */
export function applyChanged(store, message) {
  const found = message && locate(store, message.conversationId, message._id);
  if (!found) return null;
  const { conversation, index } = found;
  if (index >= 0) {
    const old = conversation.messages[index];
    // The event has no prevId and may lack what only pages carry: keep ours for those.
    conversation.messages[index] = {
      ...old,
      ...message,
      replyTo: message.replyTo !== undefined ? message.replyTo : old.replyTo,
      reactions: message.reactions !== undefined ? message.reactions : old.reactions,
    };
  }
  requote(conversation, message);
  replaceLast(conversation, message);
  return conversation;
}

/** `messageDeleted {conversationId, _id, seq, deletedAt}`: the tombstone, everywhere. */
export function applyDeleted(store, { conversationId, _id, deletedAt }) {
  const tombstone = {
    _id,
    conversationId,
    deletedAt: deletedAt || new Date().toISOString(),
    text: null,
    image: null,
    file: null,
    replyTo: null,
    reactions: [],
  };
  return applyChanged(store, tombstone);
}

/** `reactionChanged` or a toggle's answer: the message's whole new list. */
export function applyReactions(store, conversationId, messageId, reactions) {
  const found = locate(store, conversationId, messageId);
  if (!found || found.index < 0 || !Array.isArray(reactions)) return null;
  const { conversation, index } = found;
  conversation.messages[index] = { ...conversation.messages[index], reactions };
  return conversation;
}

/**
 * Re-read the messages we hold of a conversation and replace our copies (after a reconnection:
 * edits, deletions and reactions are not in an `?after=` catch-up). One request for a usual
 * history: the page around the oldest we hold covers 50 newer; then `after=` pages on.
 */
export async function refreshLoaded(store, conversationId) {
  const conversation = store.conversations.get(conversationId);
  if (!conversation || !conversation.loaded) return;
  conversation.actionsStale = false;
  const held = conversation.messages.filter((m) => m._id);
  if (!held.length) return;
  const newestSeq = held[held.length - 1].seq;
  let page = await messagesNear(conversationId, { around: held[0]._id, limit: REFRESH_PAGE });
  for (;;) {
    for (const message of page) applyChanged(store, { ...message, conversationId });
    const last = page[page.length - 1];
    if (page.length < REFRESH_PAGE || !last || last.seq >= newestSeq) return;
    page = await messagesNear(conversationId, { after: last._id, limit: REFRESH_PAGE });
  }
}

/**
 * Make sure `messageId` is loaded, with everything between it and what we hold: the page
 * around it, then `after=` pages up to our oldest message (the history stays one unbroken
 * run). Resolves true when it is held; rejects with ApiError (404: not yours to see).
 */
export async function loadUpTo(store, conversationId, messageId, limit = 50) {
  const conversation = store.conversations.get(conversationId);
  if (!conversation) return false;
  if (conversation.find((m) => m._id === messageId) >= 0) return true;
  const oldest = conversation.messages.find((m) => m._id);
  const fetched = [];
  let page = await messagesNear(conversationId, { around: messageId, limit });
  for (let pages = 0; ; pages += 1) {
    let joined = !oldest;
    for (const message of page) {
      if (oldest && message.seq >= oldest.seq) joined = true;
      else fetched.push(message);
    }
    const last = page[page.length - 1];
    if (joined || !last || page.length < limit) break;
    if (pages >= 50) return false; // too far back to bridge: leave the history as it is
    limit = 100;
    page = await messagesNear(conversationId, { after: last._id, limit });
  }
  for (const message of fetched) conversation.upsert(message);
  return conversation.find((m) => m._id === messageId) >= 0;
}
