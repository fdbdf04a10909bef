// The message box: Enter sends, Shift+Enter breaks the line, an optional picture with preview,
// the send button enabled only when there is something to send, throttled typing events, one
// draft per conversation; read-only (with the reason) in a group one is no longer part of.

import { readAsDataUrl } from "./api.js";
import { $, setText } from "./dom.js";

const TYPING_REPEAT = 2_500; // ms between "still typing" events
const TYPING_IDLE = 3_000; // ms without a key before "stopped typing"
const ALLOWED = ["image/jpeg", "image/png", "image/webp", "image/gif"];

export class Composer {
  constructor({ maxBytes, onSend, onTyping }) {
    this.maxBytes = maxBytes;
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
    this.fileInput.addEventListener("change", () => this.#onFile());
    $("#image-remove").addEventListener("click", () => {
      this.#clearImage();
      this.input.focus();
    });
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

  showError(message) {
    setText(this.error, message);
    this.error.hidden = false;
  }

  #hideError() {
    this.error.hidden = true;
  }

  #update() {
    const text = this.input.value.trim();
    this.send.disabled = this.fields.disabled || (!text && !this.image);
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

  async #onFile() {
    const file = this.fileInput.files[0];
    this.fileInput.value = ""; // picking the same file again must fire "change" again
    if (!file) return;
    if (!ALLOWED.includes(file.type)) {
      this.showError("Image must be a JPEG, PNG, WEBP or GIF picture");
      return;
    }
    if (file.size > this.maxBytes) {
      this.showError(`Image is too large (at most ${Math.floor(this.maxBytes / 1048576)} MB)`);
      return;
    }
    try {
      this.image = await readAsDataUrl(file);
    } catch {
      this.showError("That picture could not be read");
      return;
    }
    this.#hideError();
    this.previewImg.src = this.image;
    this.preview.hidden = false;
    this.#update();
    this.input.focus();
  }

  #clearImage() {
    this.image = null;
    this.preview.hidden = true;
    this.previewImg.removeAttribute("src");
    this.#update();
  }

  #submit() {
    const text = this.input.value.trim();
    if ((!text && !this.image) || !this.conversationId || this.fields.disabled) return;
    this.#stopTyping();
    this.onSend(this.conversationId, { text, image: this.image });
    this.input.value = "";
    this.drafts.delete(this.conversationId);
    this.#clearImage();
    this.input.focus();
  }
}
