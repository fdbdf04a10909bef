// The conversations API (docs/MESSAGING.md, "Conversations"): one function per call.

import { api } from "./api.js";

const BASE = "/api/conversations/";

function path(conversationId, rest = "") {
  return `${BASE}${encodeURIComponent(conversationId)}${rest}`;
}

/** The sidebar: every conversation I am or was in, newest activity first. */
export function listConversations() {
  return api("GET", BASE);
}

/** One conversation with its members (and their users). */
export function getConversation(conversationId) {
  return api("GET", path(conversationId));
}

/** The direct conversation with this person, created if needed. */
export function directConversation(userId) {
  return api("POST", BASE, { userId });
}

export function createGroup({ title, memberIds }) {
  return api("POST", BASE, { title, memberIds });
}

/** Rename and/or change the picture (a data: URL). */
export function updateGroup(conversationId, changes) {
  return api("PATCH", path(conversationId), changes);
}

export function addMembers(conversationId, userIds) {
  return api("POST", path(conversationId, "/members"), { userIds });
}

export function removeMember(conversationId, userId) {
  return api("DELETE", path(conversationId, `/members/${encodeURIComponent(userId)}`));
}

export function setRole(conversationId, userId, role) {
  return api("PUT", path(conversationId, `/members/${encodeURIComponent(userId)}/role`), { role });
}

export function leaveGroup(conversationId) {
  return api("POST", path(conversationId, "/leave"));
}

/** A page of messages, oldest first: `{before}` pages back, `{after}` catches up. */
export function messagesPage(conversationId, { before = null, after = null, limit }) {
  const query = new URLSearchParams();
  if (before) query.set("before", before);
  if (after) query.set("after", after);
  query.set("limit", String(limit));
  return api("GET", path(conversationId, `/messages?${query}`));
}

export function markRead(conversationId, upTo) {
  return api("POST", path(conversationId, "/read"), { upTo });
}

/** Who has a message and who read it, and when. */
export function messageReceipts(conversationId, messageId) {
  return api("GET", path(conversationId, `/messages/${encodeURIComponent(messageId)}/receipts`));
}

/** Everyone one can start a chat with. */
export function listPeople() {
  return api("GET", "/api/messages/users");
}
