// The sentences the chat shows about people: system lines ("Alice added Dan"), who is typing,
// who has seen a message, previews. Pure functions of the store; no DOM.

import { plainText } from "./richtext.js";

/** "Bob", "Bob and Carol", "Bob, Carol and Dan". */
export function listNames(names) {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** The first word of a full name: enough inside one group ("Bob is typing…"). */
export function firstName(fullName) {
  return (fullName || "").trim().split(/\s+/)[0] || fullName || "";
}

/** At most `shown` names, then "and 3 others". */
function someNames(names, shown) {
  if (names.length <= shown + 1) return listNames(names);
  const rest = names.length - shown;
  return `${names.slice(0, shown).join(", ")} and ${rest} others`;
}

/** What a system line says, from `message.event` (types: docs/UI.md, "System lines"). */
export function systemText(store, message) {
  const event = message.event || {};
  const me = store.me._id;
  const actor = event.actor ? store.name(event.actor, { you: true }) : null;
  const users = (event.users || []).map((id) =>
    id === me ? (event.actor === me ? "yourself" : "you") : store.name(id),
  );
  const who = listNames(users);
  const title = event.title ? `“${event.title}”` : "";
  switch (event.type) {
    case "created":
      return `${actor} created the group ${title}`.trim();
    case "renamed":
      return `${actor} renamed the group to ${title}`;
    case "picture":
      return `${actor} changed the group picture`;
    case "added":
      return `${actor} added ${who}`;
    case "removed":
      return `${actor} removed ${who}`;
    case "left":
      return `${listNames((event.users || []).map((id) => store.name(id, { you: true })))} left`;
    case "admin":
      if (!actor) return `${capitalise(who)} ${users[0] === "you" ? "are" : "is"} now an admin`;
      return `${actor} made ${who} an admin`;
    case "unadmin":
      if (event.actor && (event.users || []).includes(event.actor)) {
        return `${actor} ${event.actor === me ? "are" : "is"} no longer an admin`;
      }
      return `${actor} removed ${who} as admin`;
    default:
      return "Something changed in this group";
  }
}

function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/** "Bob is typing…", "Bob and Carol are typing…", "Bob, Carol and 2 others are typing…". */
export function typingText(store, userIds) {
  if (!userIds.length) return "";
  const names = userIds.map((id) => firstName(store.name(id)));
  return `${someNames(names, 2)} ${names.length === 1 ? "is" : "are"} typing…`;
}

/** "Seen by Bob, Carol" (first names, by name; at most three, then "and 2 others"). */
export function seenByText(store, userIds) {
  if (!userIds.length) return "";
  const names = userIds.map((id) => firstName(store.name(id))).sort((a, b) => a.localeCompare(b));
  const shown = names.length > 4 ? names.slice(0, 3) : names;
  const rest = names.length - shown.length;
  return `Seen by ${shown.join(", ")}${rest ? ` and ${rest} others` : ""}`;
}

/** The sidebar's one line about a conversation's last message. */
export function previewText(store, conversation, message) {
  if (!message) return "";
  if (message.kind === "system") return systemText(store, message);
  if (message.deletedAt) return "This message was deleted";
  const photoOnly = !message.text && (message.image || message.localImage);
  const file = message.file || message.localFile;
  const body = plainText(message.text) || (photoOnly ? "Photo" : file ? `File: ${file.name}` : "");
  if (store.isMine(message) && !message._id) {
    return `${message.status === "failed" ? "Not sent" : "Sending"}: ${body}`;
  }
  if (store.isMine(message)) return `You: ${body}`;
  if (conversation.isGroup) return `${firstName(store.name(message.senderId))}: ${body}`;
  return body;
}

/** A conversation's name: the group's title, or the other person's name. */
export function conversationName(store, conversation) {
  if (conversation.isGroup) return conversation.title || "Group";
  return conversation.peerId ? store.name(conversation.peerId) : "Conversation";
}

/** "You, Bob, Carol" for a group's header (active members, me first). */
export function memberSummary(store, conversation) {
  const ids = conversation.activeMemberIds();
  if (!ids.length) {
    const n = conversation.memberCount;
    return n ? `${n} ${n === 1 ? "member" : "members"}` : "";
  }
  const me = store.me._id;
  const ordered = [
    ...(ids.includes(me) ? [me] : []),
    ...ids.filter((id) => id !== me).sort((a, b) => store.name(a).localeCompare(store.name(b))),
  ];
  return ordered.map((id) => (id === me ? "You" : firstName(store.name(id)))).join(", ");
}
