// Reaction chips under a message: emoji and count, mine pressed, who reacted in the tooltip.
// A click on a chip toggles mine (message-actions.js sends it). Text only: emoji and names go
// in with textContent and attributes, never as markup.

import { reconcile, setAttr, setText } from "./dom.js";

/** The default set offered in the action menu (the picker offers more). */
export const QUICK = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

function names(store, userIds) {
  const mine = userIds.includes(store.me._id);
  const others = userIds.filter((id) => id !== store.me._id).map((id) => store.name(id));
  return mine ? ["You", ...others] : others;
}

function chip(box, reaction, store) {
  let button = box.querySelector(`.reaction[data-emoji="${CSS.escape(reaction.emoji)}"]`);
  if (!button) {
    button = document.createElement("button");
    button.type = "button";
    button.className = "reaction";
    button.dataset.emoji = reaction.emoji;
    const emoji = document.createElement("span");
    emoji.className = "reaction__emoji";
    const count = document.createElement("span");
    count.className = "reaction__count";
    button.append(emoji, count);
  }
  const userIds = reaction.userIds || [];
  const mine = userIds.includes(store.me._id);
  const who = names(store, userIds).join(", ");
  setText(button.querySelector(".reaction__emoji"), reaction.emoji);
  setText(button.querySelector(".reaction__count"), reaction.count);
  setAttr(button, "aria-pressed", mine ? "true" : "false");
  setAttr(button, "title", `${who} reacted with ${reaction.emoji}`);
  setAttr(
    button,
    "aria-label",
    `${reaction.emoji} ${reaction.count}: ${who}. ${mine ? "Remove your reaction" : "React too"}`,
  );
  button.classList.toggle("reaction--mine", mine);
  return button;
}

/** Show (or drop) the chips of `message` under its bubble. */
export function renderReactions(li, message, store) {
  let box = li.querySelector(":scope > .reactions");
  const list = (message._id && !message.deletedAt && message.reactions) || [];
  if (!list.length) {
    if (box) box.remove();
    return;
  }
  if (!box) {
    box = document.createElement("div");
    box.className = "reactions";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Reactions");
    li.querySelector(".bubble").after(box);
  }
  reconcile(
    box,
    list.map((reaction) => chip(box, reaction, store)),
  );
}
