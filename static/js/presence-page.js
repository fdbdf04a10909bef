// Pages other than the chat (profile, settings) keep one socket open too, so a person reading
// their settings still counts as online for the people they talk with (and their top bar
// follows a name or picture changed in another tab). Loaded by base.html for logged-in pages.

import { updateTopbar, userFromEvent } from "./profile-live.js";
import { ChatSocket } from "./socket.js";

// messages=none: no newMessage frames here, so nothing is marked delivered by this page.
const socket = new ChatSocket(`${ChatSocket.defaultUrl()}&messages=none`);
let me = null;

socket.addEventListener("ready", (event) => {
  me = event.detail && event.detail.userId ? String(event.detail.userId) : null;
});
socket.addEventListener("userUpdated", (event) => {
  const user = userFromEvent(event.detail);
  if (user && user._id === me) updateTopbar(user);
});
// Logging out from the header closes this socket with 4401; the form's navigation wins.
socket.connect();
