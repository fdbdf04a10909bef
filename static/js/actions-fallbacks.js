// Stand-ins for modules another change brings (static/js/richtext.js, static/js/emoji-picker.js),
// under the same names and signatures: at merge, import those instead and delete this file.

/** The text of a message as one plain line (quotes, the editing bar). */
export function plainText(text) {
  return String(text || "")
    .replace(/\s+/g, " ")
    .trim();
}

const MORE = ["👏", "🎉", "🔥", "👀", "💯", "✅", "🤔", "😍", "😅", "🙌", "💪", "👎"];

/** A small popover of emoji under `anchorEl`; `onPick(emoji)` once one is chosen. */
export function openEmojiPicker(anchorEl, onPick) {
  document.querySelector(".emoji-fallback")?.remove();
  const box = document.createElement("div");
  box.className = "emoji-fallback";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", "Choose a reaction");
  const close = () => {
    box.remove();
    document.removeEventListener("pointerdown", outside, true);
    if (anchorEl.isConnected) anchorEl.focus({ preventScroll: true });
  };
  const outside = (event) => {
    if (!box.contains(event.target)) close();
  };
  for (const emoji of MORE) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "emoji-fallback__item";
    button.textContent = emoji;
    button.setAttribute("aria-label", `React with ${emoji}`);
    button.addEventListener("click", () => {
      close();
      onPick(emoji);
    });
    box.append(button);
  }
  box.addEventListener("keydown", (event) => {
    const items = [...box.querySelectorAll("button")];
    const at = items.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      event.preventDefault();
      items[(at + 1) % items.length].focus();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      event.preventDefault();
      items[(at - 1 + items.length) % items.length].focus();
    }
  });
  document.body.append(box);
  const rect = anchorEl.getBoundingClientRect();
  const top = Math.min(rect.bottom + 6, window.innerHeight - box.offsetHeight - 8);
  const left = Math.min(Math.max(8, rect.left), window.innerWidth - box.offsetWidth - 8);
  box.style.top = `${Math.max(8, top)}px`;
  box.style.left = `${left}px`;
  document.addEventListener("pointerdown", outside, true);
  box.querySelector("button").focus();
}
