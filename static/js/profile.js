// Profile page: the chosen photo shows at once and uploads with a progress bar; the name saves
// without a reload. Without JavaScript the same form posts to the server.

import { api, apiWithProgress, readAsDataUrl } from "./api.js";
import { $, safeUrl, setText } from "./dom.js";

const ALLOWED = ["image/jpeg", "image/png", "image/webp", "image/gif"];
const form = $("#profile-form");
const MAX_BYTES = Number(form.dataset.maxBytes) || 5 * 1024 * 1024;
const fileInput = $("#id_avatar");
const preview = $("#avatar-preview");
const progress = $("#avatar-progress");
const status = $("#profile-status");
const nameInput = $("#id_full_name");
const saveButton = $("#profile-save");
const headerAvatar = document.getElementById("me-avatar");
const headerName = document.getElementById("me-name");

let savedAvatar = preview.src;
let savedName = nameInput.value;

function showStatus(text, isError = false) {
  setText(status, text);
  status.classList.toggle("form__status--error", isError);
}

function applyUser(user) {
  const avatar = safeUrl(user.profilePic);
  if (avatar) {
    savedAvatar = avatar;
    preview.src = avatar;
    if (headerAvatar) headerAvatar.src = avatar;
  }
  savedName = user.fullName;
  nameInput.value = user.fullName;
  if (headerName) setText(headerName, user.fullName);
}

fileInput.addEventListener("change", async () => {
  const file = fileInput.files[0];
  if (!file) return;
  if (!ALLOWED.includes(file.type)) {
    showStatus("Image must be a JPEG, PNG, WEBP or GIF picture", true);
    fileInput.value = "";
    return;
  }
  if (file.size > MAX_BYTES) {
    showStatus("Image is too large", true);
    fileInput.value = "";
    return;
  }
  const localUrl = URL.createObjectURL(file);
  preview.src = localUrl;
  progress.value = 0;
  progress.hidden = false;
  showStatus("Uploading…");
  try {
    const dataUrl = await readAsDataUrl(file);
    const user = await apiWithProgress("PUT", "/api/auth/update-profile", { profilePic: dataUrl }, (done) => {
      progress.value = Math.round(done * 100);
      setText(progress, `${progress.value}%`);
    });
    applyUser(user);
    showStatus("Profile picture updated");
  } catch (error) {
    preview.src = savedAvatar;
    showStatus(error.message, true);
  } finally {
    URL.revokeObjectURL(localUrl);
    progress.hidden = true;
    fileInput.value = ""; // already saved: the form's own submit must not send it again
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const fullName = nameInput.value.trim();
  if (!fullName) {
    nameInput.setAttribute("aria-invalid", "true");
    showStatus("Full name is required", true);
    return;
  }
  if (fullName === savedName) {
    showStatus("Nothing to save");
    return;
  }
  saveButton.disabled = true;
  showStatus("Saving…");
  try {
    applyUser(await api("PUT", "/api/auth/update-profile", { fullName }));
    nameInput.removeAttribute("aria-invalid");
    showStatus("Profile updated");
  } catch (error) {
    nameInput.setAttribute("aria-invalid", "true");
    showStatus(error.message, true);
  } finally {
    saveButton.disabled = false;
  }
});
