// Replies: the quote above a reply's text (a button: it jumps to the original), and the bar
// above the composer that says what is being answered or edited, with its cancel button.

import { $, setAttr, setText } from "./dom.js";
import { plainText } from "./richtext.js";

const DELETED = "This message was deleted";

/** What a quote says of its original: its text, "Photo", "File" or that it was deleted. */
export function quoteLine(quote) {
  if (!quote) return "";
  if (quote.deleted) return DELETED;
  return plainText(quote.text) || (quote.image ? "Photo" : quote.file ? "File" : "Message");
}

/** The quote a reply to `message` carries until the server answers with its own. */
export function quoteOf(message) {
  return {
    _id: message._id,
    senderId: message.senderId,
    text: message.text ? message.text.slice(0, 200) : null,
    image: Boolean(message.image),
    deleted: false,
  };
}

/** Show the quote of the message `message` answers (or drop it). */
export function renderQuote(li, message, store) {
  const bubble = li.querySelector(".bubble");
  let quote = bubble.querySelector(":scope > .quote");
  const replyTo = !message.deletedAt && message.replyTo;
  if (!replyTo) {
    if (quote) quote.remove();
    return;
  }
  if (!quote) {
    quote = document.createElement("button");
    quote.type = "button";
    quote.className = "quote";
    const name = document.createElement("span");
    name.className = "quote__name";
    const text = document.createElement("span");
    text.className = "quote__text";
    quote.append(name, text);
    bubble.prepend(quote);
  }
  const who = replyTo.senderId ? store.name(replyTo.senderId, { you: true }) : "";
  const line = quoteLine(replyTo);
  quote.dataset.replyTo = replyTo._id || "";
  quote.classList.toggle("quote--deleted", Boolean(replyTo.deleted));
  setText(quote.querySelector(".quote__name"), who);
  setText(quote.querySelector(".quote__text"), line);
  setAttr(quote, "aria-label", `Reply to ${who || "a message"}: ${line}. Show the original`);
}

/** The "Replying to" / "Editing" bar above the composer. */
export class ComposeBar {
  constructor({ onCancel }) {
    this.bar = $("#compose-bar");
    this.title = $("#compose-bar-title");
    this.quote = $("#compose-bar-quote");
    $("#compose-bar-cancel").addEventListener("click", () => onCancel());
  }

  show(mode, title, line) {
    this.bar.dataset.mode = mode;
    setText(this.title, title);
    setText(this.quote, line);
    setAttr($("#compose-bar-cancel"), "aria-label", mode === "edit" ? "Cancel editing" : "Cancel reply");
    this.bar.hidden = false;
  }

  hide() {
    this.bar.hidden = true;
  }
}
