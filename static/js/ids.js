// Message ids are strings: digits on SQLite, 24-hex ObjectIds on MongoDB. Both sort by age.

export function compareIds(a, b) {
  const x = String(a);
  const y = String(b);
  if (/^\d+$/.test(x) && /^\d+$/.test(y) && x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A random id for optimistic sends; crypto.randomUUID needs a secure context, this doesn't. */
export function newClientId() {
  if (crypto.randomUUID && window.isSecureContext) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
