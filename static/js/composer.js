// The message box: Enter sends, Shift+Enter breaks the line, an optional picture with preview,
// the send button enabled only when there is something to send, throttled typing events, one
// draft per conversation; read-only (with the reason) in a group one is no longer part of.

import { formatSize, prepareFile } from "./attach.js";
import { $, setText } from "./dom.js";
import { openEmojiPicker } from "./emoji-picker.js";

const TYPING_REPEAT = 2_500; // ms between "still typing" events
const TYPING_IDLE = 3_000; // ms without a key before "stopped typing"
const COUNTER_FROM = 500; // characters before the limit: the counter shows from there

/** Characters as the server counts them (code points, not UTF-16 units). */
function length(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

export class Composer {
  constructor({ maxBytes, maxLength = 5000, fileMaxBytes = 20 * 1024 * 1024, onSend, onTyping }) {
    this.maxBytes = maxBytes;
    this.maxLength = maxLength;
    this.fileMaxBytes = fileMaxBytes;
    this.counter = $("#composer-count");
    this.filePreview = $("#file-preview");
    this.file = null; // a File to send as an attachment
    this.over = false; // the text is over the limit: kept whole, not sendable
    this.onSend = onSend;
    this.onTyping = onTyping;
    this.form = $("#composer");
    this.input = $("#message-input");
    this.send = $("#send-button");
    this.fileInput = $("#image-input");
    this.preview = $("#image-preview");
    this.previewImg = $("#image-preview-img");
    this.error = $("#composer-error");
    this.fields = $("#composer-fields");
    this.readOnly = $("#composer-readonly");
    this.image = null; // data: URL of the picked picture
    this.drafts = new Map(); // conversationId -> unsent text
    this.conversationId = null;
    this.typingSentAt = 0;
    this.idleTimer = null;
    this.autoGrow = !CSS.supports("field-sizing", "content");

    this.input.addEventListener("input", () => this.#onInput());
    this.input.addEventListener("keydown", (event) => {
      // isComposing: Enter also confirms an IME candidate (Japanese, Chinese...), not a send.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.input.addEventListener("blur", () => this.#stopTyping());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submit();
    });
    this.fileInput.addEventListener("change", () => {
      const file = this.fileInput.files[0];
      this.fileInput.value = ""; // picking the same file again must fire "change" again
      this.acceptFiles(file ? [file] : []);
    });
    $("#image-remove").addEventListener("click", () => {
      this.#clearImage();
      this.input.focus();
    });
    $("#file-remove").addEventListener("click", () => {
      this.#clearImage();
      this.input.focus();
    });
    // A picture pasted from the clipboard (a screenshot, "Copy image"); text pastes as usual.
    this.input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData ? event.clipboardData.files : [])];
      if (!files.length) return;
      event.preventDefault();
      this.acceptFiles(files);
    });
    this.#dropTarget($("#pane"));
    const emojiButton = $("#emoji-button");
    emojiButton.addEventListener("click", () =>
      openEmojiPicker(emojiButton, (emoji) => this.insertText(emoji)),
    );
  }

  /** Switch to another conversation, keeping each one's unsent text. */
  switchTo(conversationId) {
    if (this.conversationId) this.drafts.set(this.conversationId, this.input.value);
    this.#stopTyping();
    this.conversationId = conversationId;
    this.input.value = (conversationId && this.drafts.get(conversationId)) || "";
    this.#clearImage();
    this.#hideError();
    this.#update();
  }

  /** Nothing can be sent here (null: it can); `reason` says why, next to the disabled box. */
  setReadOnly(reason) {
    const readOnly = Boolean(reason);
    if (readOnly) {
      this.#stopTyping();
      this.#clearImage();
      setText(this.readOnly, reason);
    }
    this.readOnly.hidden = !readOnly;
    this.fields.disabled = readOnly;
    this.form.classList.toggle("composer--readonly", readOnly);
    this.#update();
  }

  focus() {
    this.input.focus({ preventScroll: true });
  }

  /** Put `text` where the caret is (an emoji from the picker), then focus the box. */
  insertText(text) {
    if (this.fields.disabled) return;
    this.input.focus();
    const { selectionStart: start, selectionEnd: end } = this.input;
    this.input.setRangeText(text, start, end, "end");
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /** Pictures and files from the button, a paste or a drop: checked before anything shows. */
  async acceptFiles(files) {
    if (!files.length || this.fields.disabled || !this.conversationId) return;
    const conversationId = this.conversationId;
    const result = await prepareFile(files[0], {
      imageMaxBytes: this.maxBytes,
      fileMaxBytes: this.fileMaxBytes,
    });
    if (this.conversationId !== conversationId) return; // switched meanwhile
    this.#clearImage();
    if (result.kind === "refused") {
      this.showError(result.reason);
      return;
    }
    if (result.kind === "image") {
      this.image = result.dataUrl;
      this.previewImg.src = this.image;
      this.preview.hidden = false;
    } else {
      this.file = result.file;
      setText($("#file-preview-name"), result.file.name || "file");
      setText($("#file-preview-size"), formatSize(result.file.size));
      this.filePreview.hidden = false;
    }
    this.#hideError();
    if (files.length > 1) this.showError("One file at a time: the first one is ready to send.");
    this.#update();
    this.input.focus();
  }

  #dropTarget(area) {
    let depth = 0; // dragenter/dragleave fire for every child crossed
    const has = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
    area.addEventListener("dragenter", (event) => {
      if (!has(event) || this.fields.disabled) return;
      event.preventDefault();
      depth += 1;
      area.classList.add("pane--drop");
    });
    area.addEventListener("dragover", (event) => {
      if (!has(event) || this.fields.disabled) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    area.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) area.classList.remove("pane--drop");
    });
    area.addEventListener("drop", (event) => {
      depth = 0;
      area.classList.remove("pane--drop");
      if (!has(event)) return;
      event.preventDefault();
      this.acceptFiles([...event.dataTransfer.files]);
    });
  }

  showError(message) {
    setText(this.error, message);
    this.error.hidden = false;
  }

  #hideError() {
    this.error.hidden = true;
  }

  #update() {
    const text = this.input.value.trim();
    const count = length(this.input.value);
    this.over = count > this.maxLength;
    const near = count >= this.maxLength - COUNTER_FROM;
    this.counter.hidden = !near;
    if (near) {
      const fmt = (n) => n.toLocaleString("en-US");
      setText(
        this.counter,
        this.over
          ? `${fmt(count)} / ${fmt(this.maxLength)}: ${fmt(count - this.maxLength)} characters too long. Shorten it to send.`
          : `${fmt(count)} / ${fmt(this.maxLength)}`,
      );
    }
    this.counter.classList.toggle("composer__count--over", this.over);
    this.input.setAttribute("aria-invalid", String(this.over));
    this.send.disabled = this.fields.disabled || this.over || (!text && !this.image && !this.file);
    if (this.autoGrow) {
      this.input.style.height = "auto";
      this.input.style.height = `${Math.min(this.input.scrollHeight, 160)}px`;
    }
  }

  #onInput() {
    this.#update();
    this.#hideError();
    if (!this.input.value.trim()) {
      this.#stopTyping();
      return;
    }
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_REPEAT) {
      this.typingSentAt = now;
      this.onTyping(this.conversationId, true);
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.#stopTyping(), TYPING_IDLE);
  }

  #stopTyping() {
    clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.typingSentAt && this.conversationId) this.onTyping(this.conversationId, false);
    this.typingSentAt = 0;
  }

  #clearImage() {
    this.image = null;
    this.file = null;
    this.filePreview.hidden = true;
    this.preview.hidden = true;
    this.previewImg.removeAttribute("src");
    this.#update();
  }

  #submit() {
    const text = this.input.value.trim();
    if ((!text && !this.image && !this.file) || !this.conversationId || this.fields.disabled) return;
    if (this.over) return; // kept whole; the counter says why
    this.#stopTyping();
    this.onSend(this.conversationId, { text, image: this.image, file: this.file });
    this.input.value = "";
    this.drafts.delete(this.conversationId);
    this.#clearImage();
    this.input.focus();
  }
}
