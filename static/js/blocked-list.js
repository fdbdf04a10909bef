// Settings: the people I block, each with Unblock (GET /api/blocks, DELETE /api/blocks/<id>).

import { $, safeUrl, setText } from "./dom.js";
import { listBlocks, unblockUser } from "./safety-api.js";

const list = $("#blocked-list");
const status = $("#blocked-status");
const avatar = list.dataset.defaultAvatar;

function row(person) {
  const li = document.createElement("li");
  li.className = "blocked-list__item";
  const img = document.createElement("img");
  img.className = "avatar";
  img.alt = "";
  img.width = 36;
  img.height = 36;
  img.src = safeUrl(person.profilePic) || avatar;
  const name = document.createElement("span");
  name.className = "blocked-list__name";
  name.textContent = person.fullName;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button--secondary button--small";
  button.textContent = "Unblock";
  button.setAttribute("aria-label", `Unblock ${person.fullName}`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await unblockUser(person._id);
    } catch (error) {
      button.disabled = false;
      setText(status, `Couldn't unblock ${person.fullName}: ${error.message}`);
      return;
    }
    li.remove();
    setText(status, `You unblocked ${person.fullName}.`);
    if (!list.children.length) list.hidden = true;
  });
  li.append(img, name, button);
  return li;
}

async function load() {
  let people;
  try {
    people = await listBlocks();
  } catch (error) {
    setText(status, `Couldn't load the people you block: ${error.message}`);
    return;
  }
  list.replaceChildren(...people.map(row));
  list.hidden = people.length === 0;
  setText(status, people.length ? "" : "You don't block anyone.");
}

load();
