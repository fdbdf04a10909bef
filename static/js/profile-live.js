// `userUpdated {user: {_id, fullName, profilePic}}`: someone (maybe me, from another tab)
// changed their name or avatar. The store learns it; the top bar follows when it is me.

import { safeUrl } from "./dom.js";

/** The event's user, with only the fields we take (and of the right types), or null. */
export function userFromEvent(detail) {
  const user = detail && detail.user;
  if (!user || typeof user._id !== "string") return null;
  const clean = { _id: user._id };
  if (typeof user.fullName === "string" && user.fullName) clean.fullName = user.fullName;
  if (typeof user.profilePic === "string") clean.profilePic = user.profilePic;
  return clean;
}

/** My name and picture in the top bar (every logged-in page has it). */
export function updateTopbar(user) {
  const name = document.getElementById("me-name");
  const avatar = document.getElementById("me-avatar");
  if (name && user.fullName && name.textContent !== user.fullName) name.textContent = user.fullName;
  const src = safeUrl(user.profilePic);
  if (avatar && src && avatar.getAttribute("src") !== src) avatar.src = src;
}

/** Apply the event to the chat's store; true when something may look different. */
export function applyUserUpdated(store, detail) {
  const user = userFromEvent(detail);
  if (!user) return false;
  if (user._id === store.me._id) {
    Object.assign(store.me, user);
    updateTopbar(user);
  }
  store.rememberUser(user);
  return true;
}
