// The emoji picker: a small panel next to a button, with a search-by-name box and the emoji in
// categories. Keyboard: the search has the focus, Down/Tab enters the grid, arrow keys move,
// Enter or Space picks, Escape closes and gives the focus back to the button. Shared by the
// composer and the reactions menu: `openEmojiPicker(anchorEl, onPick)`.

import { EMOJI_CATEGORIES } from "./emoji-data.js";

const COLUMNS = 8;

let current = null; // the open picker: {panel, anchor, close}

/** Close the open picker, if any (focus back to its button unless `keepFocus`). */
export function closeEmojiPicker({ keepFocus = false } = {}) {
  if (current) current.close(keepFocus);
}

/**
 * Open the picker by `anchorEl`; `onPick(emoji)` runs for each pick (the picker then closes).
 * Returns the panel element.
 */
export function openEmojiPicker(anchorEl, onPick) {
  const again = current && current.anchor === anchorEl;
  closeEmojiPicker({ keepFocus: true });
  if (again) return null; // the same button toggles

  const panel = document.createElement("div");
  panel.className = "emoji-picker";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Emoji");

  const search = document.createElement("input");
  search.type = "search";
  search.className = "emoji-picker__search";
  search.placeholder = "Search emoji";
  search.setAttribute("aria-label", "Search emoji");
  search.autocomplete = "off";

  const body = document.createElement("div");
  body.className = "emoji-picker__body";
  const empty = document.createElement("p");
  empty.className = "emoji-picker__empty";
  empty.textContent = "No emoji found";
  empty.hidden = true;

  const sections = [];
  for (const category of EMOJI_CATEGORIES) {
    const section = document.createElement("section");
    section.className = "emoji-picker__section";
    const heading = document.createElement("h3");
    heading.className = "emoji-picker__heading";
    heading.textContent = category.name;
    const grid = document.createElement("div");
    grid.className = "emoji-picker__grid";
    grid.setAttribute("role", "group");
    grid.setAttribute("aria-label", category.name);
    for (const [emoji, name] of category.items) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "emoji-picker__emoji";
      button.textContent = emoji;
      button.dataset.emoji = emoji;
      button.dataset.name = name;
      button.setAttribute("aria-label", name);
      button.title = name;
      button.tabIndex = -1;
      grid.append(button);
    }
    section.append(heading, grid);
    sections.push(section);
  }
  body.append(...sections, empty);
  panel.append(search, body);
  document.body.append(panel);
  place(panel, anchorEl);

  const visible = () =>
    [...panel.querySelectorAll(".emoji-picker__emoji")].filter((b) => !b.hidden);

  const focusEmoji = (button) => {
    for (const b of panel.querySelectorAll(".emoji-picker__emoji[tabindex='0']")) b.tabIndex = -1;
    if (!button) return;
    button.tabIndex = 0;
    button.focus();
  };

  const filter = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const section of sections) {
      let inSection = 0;
      for (const button of section.querySelectorAll(".emoji-picker__emoji")) {
        const match = words.every((w) => button.dataset.name.includes(w));
        button.hidden = !match;
        if (match) inSection += 1;
      }
      section.hidden = inSection === 0;
      shown += inSection;
    }
    empty.hidden = shown > 0;
  };

  const pick = (button) => {
    const emoji = button.dataset.emoji;
    close(false);
    onPick(emoji);
  };

  const onOutside = (event) => {
    if (!panel.contains(event.target) && !anchorEl.contains(event.target)) close(true);
  };

  function close(keepFocus) {
    if (current && current.panel !== panel) return;
    current = null;
    document.removeEventListener("pointerdown", onOutside, true);
    window.removeEventListener("resize", onResize);
    panel.remove();
    anchorEl.setAttribute("aria-expanded", "false");
    if (!keepFocus) anchorEl.focus();
  }
  const onResize = () => place(panel, anchorEl);

  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || (event.key === "Tab" && !event.shiftKey)) {
      event.preventDefault();
      focusEmoji(visible()[0]);
    } else if (event.key === "Enter") {
      event.preventDefault();
      const first = visible()[0];
      if (first) pick(first);
    }
  });
  body.addEventListener("click", (event) => {
    const button = event.target.closest(".emoji-picker__emoji");
    if (button) pick(button);
  });
  body.addEventListener("keydown", (event) => {
    const button = event.target.closest(".emoji-picker__emoji");
    if (!button) return;
    const list = visible();
    const index = list.indexOf(button);
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (event.key in moves) {
      event.preventDefault();
      const next = index + moves[event.key];
      if (next < 0) search.focus();
      else focusEmoji(list[Math.min(next, list.length - 1)]);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      focusEmoji(event.key === "Home" ? list[0] : list[list.length - 1]);
    } else if (event.key === "Tab") {
      event.preventDefault(); // one Tab stop for the grid: back to the search
      search.focus();
    }
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(false);
    }
  });
  document.addEventListener("pointerdown", onOutside, true);
  window.addEventListener("resize", onResize);

  anchorEl.setAttribute("aria-expanded", "true");
  current = { panel, anchor: anchorEl, close };
  search.focus({ preventScroll: true });
  return panel;
}

/** Above the button when there is room, else below; kept inside the window. */
function place(panel, anchor) {
  const rect = anchor.getBoundingClientRect();
  const width = Math.min(panel.offsetWidth || 320, window.innerWidth - 16);
  const height = panel.offsetHeight || 360;
  let left = Math.min(Math.max(8, rect.left), window.innerWidth - width - 8);
  let top = rect.top - height - 8;
  if (top < 8) top = Math.min(rect.bottom + 8, window.innerHeight - height - 8);
  panel.style.left = `${Math.max(8, left)}px`;
  panel.style.top = `${Math.max(8, top)}px`;
}
