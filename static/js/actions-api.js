// The message actions API (docs/MESSAGING.md, "Message actions"): edit, delete, react, and the
// page around a message. One function per call; errors are ApiError (see api.js).

import { api } from "./api.js";

function messagePath(conversationId, messageId = "", rest = "") {
  const base = `/api/conversations/${encodeURIComponent(conversationId)}/messages`;
  return messageId ? `${base}/${encodeURIComponent(messageId)}${rest}` : `${base}${rest}`;
}

/** New text for one of my messages; resolves with the whole Message (with `editedAt`). */
export function editMessage(conversationId, messageId, text) {
  return api("PATCH", messagePath(conversationId, messageId), { text });
}

/** Delete one of my messages for everyone; resolves with the tombstone. */
export function deleteMessage(conversationId, messageId) {
  return api("DELETE", messagePath(conversationId, messageId));
}

/** Add my `emoji`, or take it back; resolves with `{messageId, reactions}`. */
export function toggleReaction(conversationId, messageId, emoji) {
  return api("POST", messagePath(conversationId, messageId, "/reactions"), { emoji });
}

/** A page of messages, oldest first: `{around}` centred on a message, or `{after}`. */
export function messagesNear(conversationId, { around = null, after = null, limit }) {
  const query = new URLSearchParams();
  if (around) query.set("around", around);
  if (after) query.set("after", after);
  query.set("limit", String(limit));
  return api("GET", messagePath(conversationId, "", `?${query}`));
}
