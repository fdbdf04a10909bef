// "Report" a message to the moderators: a dialog with the reasons and an optional note.
// The message menu (message-actions.js) calls openReportDialog(message); the dialog is built
// here with DOM nodes on first use, so no page needs markup for it (docs/SAFETY.md).

import { openModal } from "./people-picker.js";
import { reportMessage } from "./safety-api.js";

const REASONS = [
  ["spam", "Spam"],
  ["harassment", "Harassment or bullying"],
  ["hate", "Hate speech"],
  ["sexual", "Sexual content"],
  ["violence", "Violence or threats"],
  ["other", "Something else"],
];
const NOTE_MAX = 500;

function element(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== null) node.textContent = text;
  return node;
}

let dialog = null;
let current = null; // the message being reported

function build() {
  const root = element("dialog", { class: "dialog report", "aria-labelledby": "report-title" });
  const form = element("form", { class: "dialog__form", novalidate: "" });
  const head = element("div", { class: "dialog__head" });
  head.append(element("h2", { class: "dialog__title", id: "report-title" }, "Report message"));
  const body = element("div", { class: "dialog__body" });
  body.append(
    element("p", {}, "The moderators will see this message and a few around it. " +
      "The sender is not told who reported it."),
  );
  const reasons = element("fieldset", { class: "report__reasons" });
  reasons.append(element("legend", { class: "visually-hidden" }, "Why are you reporting it?"));
  for (const [value, label] of REASONS) {
    const row = element("label", { class: "report__reason" });
    const radio = element("input", { type: "radio", name: "reason", value });
    row.append(radio, document.createTextNode(label));
    reasons.append(row);
  }
  const noteLabel = element("label", { for: "report-note", class: "visually-hidden" }, "Note");
  const note = element("textarea", {
    id: "report-note",
    name: "note",
    class: "report__note",
    maxlength: String(NOTE_MAX),
    placeholder: "Anything the moderators should know (optional)",
  });
  const status = element("p", { class: "report__status", role: "status" });
  body.append(reasons, noteLabel, note, status);
  const foot = element("div", { class: "dialog__foot" });
  const cancel = element("button", { type: "button", class: "button button--ghost" }, "Cancel");
  const submit = element("button", { type: "submit", class: "button button--danger" }, "Report");
  foot.append(cancel, submit);
  form.append(head, body, foot);
  root.append(form);
  document.body.append(root);

  cancel.addEventListener("click", () => root.close());
  reasons.addEventListener("change", () => show(status, ""));
  root.addEventListener("click", (event) => {
    if (event.target === root) root.close();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[name=reason]:checked");
    if (!chosen) {
      show(status, "Pick a reason.", true);
      return;
    }
    submit.disabled = true;
    try {
      await reportMessage(current._id, { reason: chosen.value, note: note.value.trim() });
    } catch (error) {
      show(status, error.message, true);
      return;
    } finally {
      submit.disabled = false;
    }
    show(status, "Thanks. The moderators will look at it.");
    root.dataset.sent = "true";
    setTimeout(() => root.close(), 1200);
  });
  return root;
}

function show(status, text, isError = false) {
  status.textContent = text;
  status.classList.toggle("report__status--error", isError);
}

/** Ask why `message` (a Message shape with `_id`) should be reported, and send it. */
export function openReportDialog(message) {
  if (!message || !message._id) return;
  if (!dialog) dialog = build();
  current = message;
  const form = dialog.querySelector("form");
  form.reset();
  show(dialog.querySelector(".report__status"), "");
  delete dialog.dataset.sent;
  openModal(dialog, dialog.querySelector("input[name=reason]"));
}
