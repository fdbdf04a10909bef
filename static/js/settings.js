// Settings page: live theme preview saved as you pick, notifications opt-in.
// The theme form still works without JavaScript (the Save button posts it).

import { api } from "./api.js";
import { $, setText } from "./dom.js";
import {
  disableNotifications,
  enableNotifications,
  notificationsEnabled,
  notificationsSupported,
} from "./notify.js";

const root = document.documentElement;
const themeForm = $("#theme-form");
const themeStatus = $("#theme-status");
let savedTheme = root.dataset.theme;
let saving = Promise.resolve();

$("#theme-save").hidden = true; // choices save themselves now

function showStatus(element, text, isError = false) {
  setText(element, text);
  element.classList.toggle("form__status--error", isError);
}

themeForm.addEventListener("change", (event) => {
  const radio = event.target;
  if (radio.name !== "theme") return;
  const theme = radio.value;
  root.dataset.theme = theme; // preview at once; the save follows
  showStatus(themeStatus, "Saving…");
  saving = saving.then(async () => {
    try {
      await api("PUT", "/api/auth/theme", { theme });
      savedTheme = theme;
      if (root.dataset.theme === theme) showStatus(themeStatus, "Theme saved");
    } catch (error) {
      root.dataset.theme = savedTheme;
      const previous = themeForm.querySelector(`input[name="theme"][value="${savedTheme}"]`);
      if (previous) previous.checked = true;
      showStatus(themeStatus, error.message, true);
    }
  });
});

// Notifications exist only with JavaScript, so their card is revealed by it.
if (notificationsSupported()) {
  const card = $("#notify-card");
  const button = $("#notify-toggle");
  const label = button.querySelector("span");
  const status = $("#notify-status");
  const render = () => {
    const on = notificationsEnabled();
    setText(label, on ? "Turn off notifications" : "Turn on notifications");
    if (Notification.permission === "denied") {
      showStatus(status, "Notifications are blocked in your browser's site settings.", true);
      button.disabled = true;
    } else {
      showStatus(status, on ? "Notifications are on." : "Notifications are off.");
    }
  };
  button.addEventListener("click", async () => {
    if (notificationsEnabled()) disableNotifications();
    else await enableNotifications();
    render();
  });
  card.hidden = false;
  render();
}
