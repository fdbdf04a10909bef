// A message's file that is not a picture: a card with an icon for its kind, its name (text,
// never markup), its size and a Download link to the private URL (members only, server-checked).

import { formatSize } from "./attach.js";
import { safeUrl, setAttr, setText } from "./dom.js";

const KINDS = [
  [/pdf/, "PDF", "pdf"],
  [/zip|7z|x-tar|gzip|bzip|x-xz|compressed|archive/, "ZIP", "archive"],
  [/spreadsheet|excel|csv|tab-separated/, "XLS", "sheet"],
  [/presentation|powerpoint/, "PPT", "slides"],
  [/word|opendocument\.text|rtf/, "DOC", "doc"],
  [/^audio\//, "AUD", "audio"],
  [/^video\//, "VID", "video"],
  [/^text\/|markdown/, "TXT", "text"],
];

/** The icon's label and colour class for a MIME type. */
export function fileKind(type) {
  const value = String(type || "").toLowerCase();
  for (const [pattern, label, kind] of KINDS) if (pattern.test(value)) return { label, kind };
  return { label: "FILE", kind: "other" };
}

function build() {
  const card = document.createElement("div");
  card.className = "file-card";
  const icon = document.createElement("span");
  icon.className = "file-card__icon";
  icon.setAttribute("aria-hidden", "true");
  const text = document.createElement("span");
  text.className = "file-card__text";
  const name = document.createElement("span");
  name.className = "file-card__name";
  const size = document.createElement("span");
  size.className = "file-card__size";
  text.append(name, size);
  const link = document.createElement("a");
  link.className = "button button--secondary button--small file-card__download";
  link.textContent = "Download";
  card.append(icon, text, link);
  return card;
}

/** Show the card of `message.file` (or drop it); a picture file shows as a picture. */
export function renderFileCard(li, message) {
  const bubble = li.querySelector(".bubble");
  let card = bubble.querySelector(":scope > .file-card");
  const file = !message.deletedAt && message.file;
  const url = file && safeUrl(file.url);
  if (!file || !url) {
    if (card) card.remove();
    return;
  }
  if (!card) {
    card = build();
    bubble.querySelector(".bubble__image").after(card);
  }
  const { label, kind } = fileKind(file.type);
  const icon = card.querySelector(".file-card__icon");
  setText(icon, label);
  icon.className = `file-card__icon file-card__icon--${kind}`;
  setText(card.querySelector(".file-card__name"), file.name);
  setAttr(card.querySelector(".file-card__name"), "title", file.name);
  setText(card.querySelector(".file-card__size"), formatSize(file.size));
  const link = card.querySelector(".file-card__download");
  setAttr(link, "href", url);
  setAttr(link, "download", file.name || "");
  setAttr(link, "aria-label", `Download ${file.name} (${formatSize(file.size)})`);

  let preview = card.querySelector(".file-card__preview");
  const picture = /^image\/(jpeg|png|webp|gif)$/i.test(String(file.type || ""));
  card.classList.toggle("file-card--image", picture);
  if (picture && !preview) {
    preview = document.createElement("img");
    preview.className = "file-card__preview";
    preview.loading = "lazy";
    preview.alt = file.name || "Picture";
    card.prepend(preview);
  } else if (!picture && preview) preview.remove();
  if (picture && preview.getAttribute("src") !== url) preview.src = url;
}
