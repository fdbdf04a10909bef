// "Seen by" on demand: who read one of my group messages and who has it, and when
// (GET /api/conversations/<id>/messages/<mid>/receipts).

import { messageReceipts } from "./conversations-api.js";
import { $, cloneTemplate, safeUrl, setText } from "./dom.js";
import { dismissable, openModal } from "./people-picker.js";
import { formatMoment } from "./time.js";

export class ReceiptsDialog {
  constructor(store, { defaultAvatar }) {
    this.store = store;
    this.defaultAvatar = defaultAvatar;
    this.dialog = $("#receipts-dialog");
    this.quote = $("#receipts-quote");
    this.status = $("#receipts-status");
    this.readList = $("#receipts-read");
    this.deliveredList = $("#receipts-delivered");
    this.readSection = $("#receipts-read-section");
    this.deliveredSection = $("#receipts-delivered-section");
    this.request = 0;
    dismissable(this.dialog);
  }

  async open(conversationId, messageId) {
    const conversation = this.store.conversations.get(conversationId);
    const message = conversation && conversation.messages.find((m) => m._id === messageId);
    if (!message) return;
    const request = ++this.request;
    setText(this.quote, message.text || "Photo");
    setText(this.status, "Loading…");
    this.readSection.hidden = true;
    this.deliveredSection.hidden = true;
    openModal(this.dialog, $("#receipts-close"));
    let receipts;
    try {
      receipts = await messageReceipts(conversationId, messageId);
    } catch (error) {
      if (request === this.request) setText(this.status, `Couldn't load: ${error.message}`);
      return;
    }
    if (request !== this.request) return; // another message was opened meanwhile
    const read = receipts.readBy || [];
    const readIds = new Set(read.map((r) => r.userId));
    const delivered = (receipts.deliveredTo || []).filter((r) => !readIds.has(r.userId));
    this.#fill(this.readList, read);
    this.#fill(this.deliveredList, delivered);
    this.readSection.hidden = read.length === 0;
    this.deliveredSection.hidden = delivered.length === 0;
    setText(
      this.status,
      read.length || delivered.length ? "" : "No one else has received this message yet.",
    );
  }

  #fill(list, entries) {
    const byTime = [...entries].sort((a, b) => ((a.at || "") < (b.at || "") ? -1 : 1));
    list.replaceChildren(
      ...byTime.map(({ userId, at }) => {
        const li = cloneTemplate("receipt-template");
        const user = this.store.users.get(userId);
        li.querySelector(".receipt__avatar").src =
          safeUrl(user && user.profilePic) || this.defaultAvatar;
        setText(li.querySelector(".receipt__name"), this.store.name(userId));
        const time = li.querySelector(".receipt__time");
        setText(time, at ? formatMoment(at) : "");
        if (at) time.dateTime = at;
        return li;
      }),
    );
  }
}
