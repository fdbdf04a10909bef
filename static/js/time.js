// Dates as people read them in a chat: "10:42", "Yesterday", "Monday", "March 3".

const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "long" });
const weekdayShort = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const monthDay = new Intl.DateTimeFormat(undefined, { month: "long", day: "numeric" });
const fullDate = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });
const shortDate = new Intl.DateTimeFormat(undefined, { year: "2-digit", month: "numeric", day: "numeric" });

const DAY = 86_400_000;

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

function daysAgo(date, now = new Date()) {
  return Math.round((startOfDay(now) - startOfDay(date)) / DAY);
}

export function formatTime(iso) {
  return iso ? clock.format(new Date(iso)) : "";
}

/** A key that is equal for two moments on the same local day. */
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** The label of a day separator. */
export function formatDay(iso) {
  const date = new Date(iso);
  const ago = daysAgo(date);
  if (ago === 0) return "Today";
  if (ago === 1) return "Yesterday";
  if (ago > 1 && ago < 7) return weekday.format(date);
  return date.getFullYear() === new Date().getFullYear() ? monthDay.format(date) : fullDate.format(date);
}

/** The short time in the sidebar: time today, then weekday, then a date. */
export function formatListTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const ago = daysAgo(date);
  if (ago === 0) return clock.format(date);
  if (ago === 1) return "Yesterday";
  if (ago > 1 && ago < 7) return weekdayShort.format(date);
  return shortDate.format(date);
}

/** "last seen 5 minutes ago", "last seen yesterday at 21:04", ... */
export function formatLastSeen(iso) {
  if (!iso) return "Offline";
  const date = new Date(iso);
  const minutes = Math.floor((Date.now() - date.getTime()) / 60_000);
  if (minutes < 1) return "Last seen just now";
  if (minutes < 60) return `Last seen ${minutes} min ago`;
  const ago = daysAgo(date);
  if (ago === 0) return `Last seen today at ${clock.format(date)}`;
  if (ago === 1) return `Last seen yesterday at ${clock.format(date)}`;
  return `Last seen ${formatDay(iso)}`;
}

/** "Today at 10:42 AM", "Yesterday at 9:05 PM", "March 3 at 8:00 AM". */
export function formatMoment(iso) {
  return iso ? `${formatDay(iso)} at ${formatTime(iso)}` : "";
}
