// Message text as people type it: clickable links (http, https, mailto only), *bold*, _italic_,
// `code`, ``` fenced blocks ```, line breaks kept. Built from DOM nodes (text goes in as text
// nodes, never as HTML), so nothing a sender types can become markup or script, and the CSP
// stays strict. `plainText` is the same text with the markers taken out, for previews and
// notifications. Long messages fold behind "Show more".

const FENCE = /```(?:[^\n`]*\n)?([\s\S]*?)```/g;
const CODE = /`([^`\n]+)`/g;
// Schemes that may become a link; anything else (javascript:, data:, vbscript:) stays text.
const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"'`]+/gi;
const LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
const TRAILING_CHAR = /[.,;:!?'")\]}>]/; // sentence punctuation after a link is not part of it
// *bold* and _italic_ as in chat apps: the markers hug the words, and aren't inside a word
// (snake_case_names and 2*3*4 stay as they are).
const BOLD = /(^|[^\w*])\*(?=\S)([^*\n]*?[^\s*])\*(?![\w*])/g;
const ITALIC = /(^|[^\w_])_(?=\S)([^_\n]*?[^\s_])_(?![\w_])/g;

export const FOLD_CHARS = 600;
export const FOLD_LINES = 12;

/** A link's href when it is one we allow, else "". */
export function safeLink(raw) {
  try {
    const url = new URL(raw);
    if (!LINK_PROTOCOLS.has(url.protocol)) return "";
    return url.href;
  } catch {
    return "";
  }
}

function count(text, char) {
  return text.split(char).length - 1;
}

/** Split `text` by `pattern` into [{match, groups} | string] pieces, in order. */
function split(text, pattern) {
  const pieces = [];
  let last = 0;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    if (m[0] === "") {
      pattern.lastIndex += 1;
      continue;
    }
    if (m.index > last) pieces.push(text.slice(last, m.index));
    pieces.push({ match: m });
    last = m.index + m[0].length;
  }
  if (last < text.length) pieces.push(text.slice(last));
  return pieces;
}

function emphasis(parent, text) {
  // Bold first (it may hold italic), then italic inside each plain run.
  for (const piece of split(text, BOLD)) {
    if (typeof piece === "string") {
      italic(parent, piece);
      continue;
    }
    const [, before, inner] = piece.match;
    if (before) parent.append(before);
    const strong = document.createElement("strong");
    italic(strong, inner);
    parent.append(strong);
  }
}

function italic(parent, text) {
  for (const piece of split(text, ITALIC)) {
    if (typeof piece === "string") {
      parent.append(piece);
      continue;
    }
    const [, before, inner] = piece.match;
    if (before) parent.append(before);
    const em = document.createElement("em");
    em.append(inner);
    parent.append(em);
  }
}

function links(parent, text) {
  for (const piece of split(text, LINK)) {
    if (typeof piece === "string") {
      emphasis(parent, piece);
      continue;
    }
    const whole = piece.match[0];
    let end = whole.length;
    while (end > 0 && TRAILING_CHAR.test(whole[end - 1])) {
      // Keep a closing bracket that closes one opened inside the link (Wikipedia URLs).
      if (whole[end - 1] === ")" && count(whole.slice(0, end), "(") >= count(whole.slice(0, end), ")")) break;
      end -= 1;
    }
    const raw = whole.slice(0, end);
    const tail = whole.slice(end);
    const href = safeLink(raw);
    if (!href || raw === "mailto:") {
      emphasis(parent, piece.match[0]);
      continue;
    }
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.className = "rich-link";
    a.append(raw);
    parent.append(a);
    if (tail) emphasis(parent, tail);
  }
}

function inline(parent, text) {
  for (const piece of split(text, CODE)) {
    if (typeof piece === "string") links(parent, piece);
    else {
      const code = document.createElement("code");
      code.className = "rich-code";
      code.append(piece.match[1]);
      parent.append(code);
    }
  }
}

/** The message's text as DOM nodes (a fragment to append). */
export function renderRichText(text) {
  const fragment = document.createDocumentFragment();
  const source = typeof text === "string" ? text : "";
  const pieces = split(source, FENCE);
  pieces.forEach((piece, index) => {
    if (typeof piece === "string") {
      // The line breaks around a block belong to the block (it is a block already).
      let text = piece;
      if (index > 0) text = text.replace(/^\n/, "");
      if (index < pieces.length - 1) text = text.replace(/\n$/, "");
      inline(fragment, text);
      return;
    }
    const pre = document.createElement("pre");
    pre.className = "rich-pre";
    const code = document.createElement("code");
    code.append(piece.match[1].replace(/\n$/, ""));
    pre.append(code);
    fragment.append(pre);
  });
  return fragment;
}

/** The text without formatting markers, for the sidebar, notifications and quotes. */
export function plainText(text) {
  if (typeof text !== "string") return "";
  return text
    .replace(FENCE, (_, body) => body.replace(/\n$/, ""))
    .replace(CODE, "$1")
    .replace(BOLD, "$1$2")
    .replace(ITALIC, "$1$2");
}

/** True when a message is long enough to fold behind "Show more". */
export function isLong(text) {
  if (typeof text !== "string") return false;
  if (text.length > FOLD_CHARS) return true;
  let lines = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
    lines += 1;
    if (lines > FOLD_LINES) return true;
  }
  return false;
}

const rendered = new WeakMap(); // element -> the text it shows
const expanded = new Set(); // keys of long messages the reader unfolded

/**
 * Fill a message's text element (only when the text changed) and, for a long one, the
 * "Show more" / "Show less" button that follows it. `key` keeps the choice across re-renders.
 */
export function fillRichText(element, text, key = "") {
  const value = typeof text === "string" ? text : "";
  if (rendered.get(element) !== value) {
    rendered.set(element, value);
    element.replaceChildren(renderRichText(value));
  }
  const long = isLong(value);
  let toggle = element.nextElementSibling;
  if (!toggle || !toggle.classList.contains("fold-toggle")) toggle = null;
  if (!long) {
    element.classList.remove("rich--folded");
    if (toggle) toggle.remove();
    return;
  }
  if (!toggle) {
    toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "link-button fold-toggle";
    toggle.addEventListener("click", () => {
      const k = toggle.dataset.key;
      if (expanded.has(k)) expanded.delete(k);
      else expanded.add(k);
      applyFold(element, toggle, expanded.has(k));
    });
    element.after(toggle);
  }
  toggle.dataset.key = key;
  applyFold(element, toggle, expanded.has(key));
}

function applyFold(element, toggle, open) {
  element.classList.toggle("rich--folded", !open);
  toggle.textContent = open ? "Show less" : "Show more";
  toggle.setAttribute("aria-expanded", String(open));
}
