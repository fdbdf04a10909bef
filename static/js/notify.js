// Opt-in browser notifications and the "(3) Parley" tab title counter.

const PREFERENCE_KEY = "parley.notifications";
const BASE_TITLE = "Parley";

export function notificationsSupported() {
  return "Notification" in window;
}

/** On only when the person asked for it here and the browser allows it. */
export function notificationsEnabled() {
  return (
    notificationsSupported() &&
    Notification.permission === "granted" &&
    localStorage.getItem(PREFERENCE_KEY) === "on"
  );
}

/** Ask the browser (first time only) and remember the choice; resolves to the new state. */
export async function enableNotifications() {
  if (!notificationsSupported()) return false;
  let permission = Notification.permission;
  if (permission === "default") permission = await Notification.requestPermission();
  if (permission !== "granted") return false;
  localStorage.setItem(PREFERENCE_KEY, "on");
  return true;
}

export function disableNotifications() {
  localStorage.setItem(PREFERENCE_KEY, "off");
}

/** Show one notification per conversation (a newer one replaces the older). */
export function notify({ title, body, icon, tag, onClick }) {
  if (!notificationsEnabled()) return;
  try {
    const notification = new Notification(title, { body, icon, tag, renotify: true });
    notification.addEventListener("click", () => {
      window.focus();
      notification.close();
      if (onClick) onClick();
    });
  } catch {
    // Some mobile browsers only allow notifications from a service worker: skip quietly.
  }
}

/** "(3) Parley" while there are unread messages, "Parley" otherwise. */
export function setTitleCount(count) {
  const title = count > 0 ? `(${count > 99 ? "99+" : count}) ${BASE_TITLE}` : BASE_TITLE;
  if (document.title !== title) document.title = title;
}
