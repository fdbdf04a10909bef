// The safety endpoints: the people directory, blocks, mute, reports (docs/SAFETY.md).

import { ApiError, api, OFFLINE } from "./api.js";

/** People matching `q` (name or email); at most 20, best first. */
export function searchDirectory(q, { signal } = {}) {
  return api("GET", `/api/users/search?q=${encodeURIComponent(q)}`, undefined, { signal });
}

/**
 * The people I block. A background read: a 401 here (a logout racing it) is not a reason to
 * send anyone to the login page, so it does not go through api()'s redirect.
 */
export async function listBlocks() {
  let response;
  try {
    response = await fetch("/api/blocks", { credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new ApiError(OFFLINE, 0);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (data && data.message) || `Something went wrong (${response.status})`;
    throw new ApiError(message, response.status, data);
  }
  return data;
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
