// Tiny DOM helpers. User text only ever goes in through textContent.

/** The first element matching `selector` (throws early when the page lacks it). */
export function $(selector, root = document) {
  const element = root.querySelector(selector);
  if (!element) throw new Error(`missing element: ${selector}`);
  return element;
}

/** A fresh copy of the first element inside <template id="...">. */
export function cloneTemplate(id) {
  const template = document.getElementById(id);
  return template.content.firstElementChild.cloneNode(true);
}

/** Set text only when it changed (keeps screen readers and layout calm). */
export function setText(element, text) {
  const value = text == null ? "" : String(text);
  if (element.textContent !== value) element.textContent = value;
}

/** Set an attribute only when it changed; null or false removes it. */
export function setAttr(element, name, value) {
  if (value === null || value === undefined || value === false) {
    if (element.hasAttribute(name)) element.removeAttribute(name);
    return;
  }
  const text = value === true ? "" : String(value);
  if (element.getAttribute(name) !== text) element.setAttribute(name, text);
}

/** Only http(s), same-site paths, data: images and blob: URLs may become a src or href. */
export function safeUrl(url) {
  if (typeof url !== "string" || !url) return "";
  if (url.startsWith("/") && !url.startsWith("//")) return url;
  if (/^data:image\//i.test(url) || /^blob:/i.test(url)) return url;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : "";
  } catch {
    return "";
  }
}

/** The page's boot data, from a <script type="application/json"> block (CSP-safe). */
export function readJson(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

/**
 * Make `parent`'s children exactly `nodes`, in order, moving existing nodes instead of
 * re-creating them (images don't reload, focus and scroll survive).
 */
export function reconcile(parent, nodes) {
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextSibling;
      continue;
    }
    if (node.isConnected && node.parentNode === parent && parent.moveBefore) {
      try {
        parent.moveBefore(node, cursor); // keeps focus on a moved button
        continue;
      } catch {
        // fall through to insertBefore
      }
    }
    parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    parent.removeChild(cursor);
    cursor = next;
  }
}
