// "New chat" (pick one person: their direct conversation) and "New group" (a name and people).

import { createGroup, listPeople } from "./conversations-api.js";
import { DirectorySearch } from "./directory.js";
import { $, setText } from "./dom.js";
import { dismissable, openModal, PeoplePicker } from "./people-picker.js";

export const TITLE_REQUIRED = "Give the group a name.";
export const PEOPLE_REQUIRED = "Pick at least one person to add.";

/** The people one can chat with, from the server (everyone active); remembered in the store. */
async function loadPeople(store, picker, exclude = []) {
  // Only the newest load fills the picker: the answer to an older one (the dialog was closed
  // and opened again before it came) would wipe whatever was chosen since.
  const load = Symbol("load");
  picker.loading = load;
  picker.reset([], exclude);
  picker.showStatus("Loading people…");
  // Enter pressed before the list arrives is acted on once it is shown (PeoplePicker.flush).
  let shown;
  const loaded = new Promise((resolve) => {
    shown = resolve;
  });
  const flush = () => loaded;
  picker.flush = flush;
  try {
    const people = await listPeople();
    people.forEach((user) => store.rememberUser(user));
    if (picker.loading !== load) return;
    store.people = people;
    picker.reset(people, exclude);
  } catch (error) {
    if (picker.loading === load) picker.showStatus(`Couldn't load people: ${error.message}`);
  } finally {
    if (picker.flush === flush) picker.flush = null;
    shown();
  }
}

export class NewChatDialog {
  constructor(store, { defaultAvatar, onStart }) {
    this.store = store;
    this.dialog = $("#new-chat-dialog");
    this.picker = new PeoplePicker(this.dialog, store, {
      defaultAvatar,
      remote: true,
      onPick: (userId) => {
        this.dialog.close();
        onStart(userId);
      },
    });
    this.directory = new DirectorySearch(this.picker, store);
    dismissable(this.dialog);
  }

  open() {
    openModal(this.dialog, this.picker.search);
    this.directory.start();
  }
}

export class NewGroupDialog {
  constructor(store, { defaultAvatar, onCreated }) {
    this.store = store;
    this.onCreated = onCreated;
    this.dialog = $("#new-group-dialog");
    this.form = $("#new-group-form");
    this.title = $("#new-group-title");
    this.error = $("#new-group-error");
    this.submit = $("#new-group-submit");
    this.count = $("#new-group-count");
    this.picker = new PeoplePicker(this.dialog, store, {
      defaultAvatar,
      multiple: true,
      onChange: (ids) => this.#chosen(ids),
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#create();
    });
    this.title.addEventListener("input", () => this.#showError(""));
    dismissable(this.dialog);
  }

  open() {
    this.form.reset();
    this.#showError("");
    this.#chosen([]);
    this.submit.disabled = false;
    openModal(this.dialog, this.title);
    loadPeople(this.store, this.picker);
  }

  #chosen(ids) {
    const n = ids.length;
    setText(this.count, n ? `${n} ${n === 1 ? "person" : "people"} chosen` : "No one chosen yet");
    if (n) this.#showError("");
  }

  #showError(text) {
    setText(this.error, text);
    this.error.hidden = !text;
  }

  async #create() {
    const title = this.title.value.trim();
    const memberIds = this.picker.chosenIds;
    if (!title) {
      this.#showError(TITLE_REQUIRED);
      this.title.focus();
      return;
    }
    if (!memberIds.length) {
      this.#showError(PEOPLE_REQUIRED);
      this.picker.search.focus();
      return;
    }
    this.submit.disabled = true;
    try {
      const detail = await createGroup({ title, memberIds });
      this.dialog.close();
      this.onCreated(detail);
    } catch (error) {
      const errors = (error.data && error.data.errors) || {};
      this.#showError((errors.title && errors.title[0]) || error.message);
      if (errors.title) this.title.focus();
    } finally {
      this.submit.disabled = false;
    }
  }
}
