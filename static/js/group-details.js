// A group's details: picture, name, members with their roles, and what one may do there
// (any member: rename, change the picture, add people, leave; admins: remove people, make or
// unmake admins). "Add people" is a second dialog over this one.

import { readAsDataUrl } from "./api.js";
import {
  addMembers,
  leaveGroup,
  listPeople,
  removeMember,
  setRole,
  updateGroup,
} from "./conversations-api.js";
import { $, cloneTemplate, reconcile, safeUrl, setAttr, setText } from "./dom.js";
import { listNames } from "./names.js";
import { dismissable, openModal, PeoplePicker } from "./people-picker.js";

const PICTURE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"];
export const PEOPLE_REQUIRED = "Pick at least one person to add.";

export class GroupDetails {
  constructor(store, { defaultAvatar, groupAvatar, onChanged, onLeft }) {
    this.store = store;
    this.defaultAvatar = defaultAvatar;
    this.groupAvatar = groupAvatar;
    this.onChanged = onChanged; // (conversation) -> re-render the page
    this.onLeft = onLeft;
    this.conversationId = null;
    this.rows = new Map(); // userId -> <li>
    this.busy = false;
    this.shownTitle = ""; // the name the title field was last filled with

    this.dialog = $("#details-dialog");
    this.picture = $("#details-picture");
    this.pictureInput = $("#details-picture-input");
    this.pictureLabel = $("#details-picture-label");
    this.titleForm = $("#details-title-form");
    this.titleInput = $("#details-title");
    this.titleSave = $("#details-title-save");
    this.heading = $("#details-members-heading");
    this.members = $("#details-members");
    this.addButton = $("#details-add");
    this.status = $("#details-status");
    this.readOnly = $("#details-readonly");
    this.leaveButton = $("#details-leave");
    this.leaveConfirm = $("#details-leave-confirm");
    this.add = new AddPeopleDialog(store, {
      defaultAvatar,
      onAdded: (detail, ids) => {
        const names = listNames(ids.map((id) => store.name(id)));
        this.#applied(detail, `${names} ${ids.length === 1 ? "was" : "were"} added.`);
      },
    });

    this.titleForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#rename();
    });
    this.pictureInput.addEventListener("change", () => this.#changePicture());
    this.addButton.addEventListener("click", () => this.add.open(this.conversation));
    this.members.addEventListener("click", (event) => this.#onMemberAction(event));
    this.leaveButton.addEventListener("click", () => {
      this.leaveConfirm.hidden = false;
      $("#details-leave-cancel").focus();
    });
    $("#details-leave-cancel").addEventListener("click", () => {
      this.leaveConfirm.hidden = true;
      this.leaveButton.focus();
    });
    $("#details-leave-yes").addEventListener("click", () => this.#leave());
    this.dialog.addEventListener("close", () => {
      this.conversationId = null;
    });
    dismissable(this.dialog);
  }

  get conversation() {
    return this.conversationId ? this.store.conversations.get(this.conversationId) : null;
  }

  get isOpen() {
    return this.dialog.open;
  }

  open(conversationId) {
    const conversation = this.store.conversations.get(conversationId);
    if (!conversation || !conversation.isGroup) return;
    this.conversationId = conversationId;
    this.leaveConfirm.hidden = true;
    this.titleInput.value = conversation.title;
    this.shownTitle = conversation.title;
    this.#say("");
    this.render();
    openModal(this.dialog, $("#details-close"));
  }

  /** Show the conversation as the store has it now (events keep arriving while it is open). */
  render() {
    const conversation = this.conversation;
    if (!conversation) return;
    const { store } = this;
    const me = store.me._id;
    const active = conversation.active;
    const admin = active && conversation.role === "admin";

    const src = safeUrl(conversation.picture) || this.groupAvatar;
    if (this.picture.getAttribute("src") !== src) this.picture.src = src;
    // Renamed meanwhile (here or by someone else): show it, unless the person is editing it.
    if (this.titleInput.value === this.shownTitle || !this.titleInput.value) {
      this.titleInput.value = conversation.title;
    }
    this.shownTitle = conversation.title;
    for (const control of [this.titleInput, this.titleSave, this.pictureInput, this.addButton]) {
      control.disabled = !active || this.busy;
    }
    this.pictureLabel.classList.toggle("is-disabled", !active);
    this.readOnly.hidden = active;
    this.leaveButton.hidden = !active;
    if (!active) this.leaveConfirm.hidden = true;

    const ids = conversation.activeMemberIds();
    setText(this.heading, `${ids.length} ${ids.length === 1 ? "member" : "members"}`);
    const order = (id) => [id !== me, conversation.members.get(id).role !== "admin", store.name(id)];
    ids.sort((a, b) => {
      const [x, y] = [order(a), order(b)];
      for (let i = 0; i < x.length; i += 1) {
        if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      }
      return 0;
    });
    reconcile(
      this.members,
      ids.map((id) => this.#row(conversation, id, admin)),
    );
  }

  #row(conversation, userId, admin) {
    let li = this.rows.get(userId);
    if (!li) {
      li = cloneTemplate("member-template");
      li.dataset.userId = userId;
      this.rows.set(userId, li);
    }
    const { store } = this;
    const me = userId === store.me._id;
    const member = conversation.members.get(userId);
    const user = store.users.get(userId);
    const name = store.name(userId);
    const img = li.querySelector(".member__avatar");
    const src = safeUrl(user && user.profilePic) || this.defaultAvatar;
    if (img.getAttribute("src") !== src) img.src = src;
    li.querySelector(".dot").hidden = me || !store.online.has(userId);
    setText(li.querySelector(".member__name"), me ? `${name} (you)` : name);
    const isAdmin = member.role === "admin";
    const role = li.querySelector(".member__role");
    setText(role, isAdmin ? "Admin" : "");
    role.hidden = !isAdmin;

    const actions = li.querySelector(".member__actions");
    actions.hidden = !admin || me;
    const toggle = li.querySelector(".member__admin");
    setText(toggle, isAdmin ? "Remove as admin" : "Make admin");
    setAttr(toggle, "aria-label", isAdmin ? `Remove ${name} as admin` : `Make ${name} an admin`);
    setAttr(li.querySelector(".member__remove"), "aria-label", `Remove ${name} from the group`);
    for (const button of actions.querySelectorAll("button")) button.disabled = this.busy;
    return li;
  }

  #say(text, { error = false } = {}) {
    setText(this.status, text);
    this.status.classList.toggle("details__status--error", error);
  }

  /** Run one change; the answer is the group's new detail. */
  async #change(request, done) {
    if (this.busy) return;
    this.busy = true;
    this.render();
    this.#say("Saving…");
    try {
      this.#applied(await request(), done);
    } catch (error) {
      this.#say(error.message, { error: true });
    } finally {
      this.busy = false;
      this.render();
    }
  }

  #applied(detail, text) {
    const conversation = this.store.upsertConversation(detail);
    this.#say(text);
    this.render();
    this.onChanged(conversation);
  }

  #rename() {
    const title = this.titleInput.value.trim();
    if (!title) {
      this.#say("Give the group a name.", { error: true });
      this.titleInput.focus();
      return;
    }
    const id = this.conversationId;
    this.#change(() => updateGroup(id, { title }), "Name saved.");
  }

  async #changePicture() {
    const file = this.pictureInput.files[0];
    this.pictureInput.value = ""; // picking the same file again must fire "change" again
    if (!file) return;
    if (!PICTURE_TYPES.includes(file.type)) {
      this.#say("The picture must be a JPEG, PNG, WEBP or GIF image.", { error: true });
      return;
    }
    let picture;
    try {
      picture = await readAsDataUrl(file);
    } catch {
      this.#say("That picture could not be read.", { error: true });
      return;
    }
    const id = this.conversationId;
    this.#change(() => updateGroup(id, { picture }), "Picture changed.");
  }

  #onMemberAction(event) {
    const button = event.target.closest("button");
    const row = button && button.closest(".member");
    if (!row) return;
    const userId = row.dataset.userId;
    const id = this.conversationId;
    const name = this.store.name(userId);
    if (button.classList.contains("member__remove")) {
      this.#change(() => removeMember(id, userId), `${name} was removed.`);
      this.addButton.focus(); // their row goes away with the button that had the focus
    } else if (button.classList.contains("member__admin")) {
      const role = this.conversation.members.get(userId).role === "admin" ? "member" : "admin";
      const done = role === "admin" ? `${name} is now an admin.` : `${name} is no longer an admin.`;
      this.#change(() => setRole(id, userId, role), done);
    }
  }

  async #leave() {
    const conversation = this.conversation;
    if (!conversation || this.busy) return;
    this.busy = true;
    this.#say("Leaving…");
    try {
      await leaveGroup(conversation.id);
    } catch (error) {
      this.#say(error.message, { error: true });
      return;
    } finally {
      this.busy = false;
    }
    conversation.active = false;
    conversation.role = "member";
    const mine = conversation.members.get(this.store.me._id);
    if (mine) mine.leftAt = new Date().toISOString();
    this.dialog.close();
    this.onLeft(conversation);
  }
}

class AddPeopleDialog {
  constructor(store, { defaultAvatar, onAdded }) {
    this.store = store;
    this.onAdded = onAdded;
    this.conversation = null;
    this.dialog = $("#add-people-dialog");
    this.form = $("#add-people-form");
    this.submit = $("#add-people-submit");
    this.error = $("#add-people-error");
    this.picker = new PeoplePicker(this.dialog, store, {
      defaultAvatar,
      multiple: true,
      onChange: (ids) => {
        this.submit.disabled = ids.length === 0;
        if (ids.length) this.#showError("");
      },
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#add();
    });
    dismissable(this.dialog);
  }

  async open(conversation) {
    this.conversation = conversation;
    this.submit.disabled = true;
    this.#showError("");
    setText($("#add-people-title"), `Add people to ${conversation.title}`);
    openModal(this.dialog, this.picker.search);
    const exclude = conversation.activeMemberIds();
    // Only the newest opening fills the picker: an older answer (another group's, maybe) would
    // wipe what was chosen since, with the wrong people left out.
    const load = Symbol("load");
    this.loading = load;
    this.picker.reset([], exclude);
    this.picker.showStatus("Loading people…");
    try {
      const people = await listPeople();
      people.forEach((user) => this.store.rememberUser(user));
      if (this.loading === load) this.picker.reset(people, exclude);
    } catch (error) {
      if (this.loading === load) this.picker.showStatus(`Couldn't load people: ${error.message}`);
    }
  }

  #showError(text) {
    setText(this.error, text);
    this.error.hidden = !text;
  }

  async #add() {
    const ids = this.picker.chosenIds;
    if (!ids.length) {
      this.#showError(PEOPLE_REQUIRED);
      return;
    }
    this.submit.disabled = true;
    try {
      const detail = await addMembers(this.conversation.id, ids);
      this.dialog.close();
      this.onAdded(detail, ids);
    } catch (error) {
      this.#showError(error.message);
      this.submit.disabled = false;
    }
  }
}
