// The safety endpoints: the people directory, blocks, mute, reports (docs/SAFETY.md).

import { api } from "./api.js";

/** People matching `q` (name or email); at most 20, best first. */
export function searchDirectory(q, { signal } = {}) {
  return api("GET", `/api/users/search?q=${encodeURIComponent(q)}`, undefined, { signal });
}

export function listBlocks() {
  return api("GET", "/api/blocks");
}

export function blockUser(userId) {
  return api("POST", "/api/blocks", { userId });
}

export function unblockUser(userId) {
  return api("DELETE", `/api/blocks/${encodeURIComponent(userId)}`);
}

export function muteConversation(conversationId, muted) {
  return api("POST", `/api/conversations/${encodeURIComponent(conversationId)}/mute`, { muted });
}

export function reportMessage(messageId, { reason, note }) {
  const body = note ? { reason, note } : { reason };
  return api("POST", `/api/messages/${encodeURIComponent(messageId)}/report`, body);
}
