// Our own file send before the server has it: its name and size in the bubble (the file card,
// with the download, comes with the stored message's `file`).

import { formatSize } from "./attach.js";

export function showPendingFile(li, message) {
  let line = li.querySelector(".bubble__pending-file");
  const file = !message.file && message.localFile;
  if (!file) {
    if (line) line.remove();
    return;
  }
  if (!line) {
    line = document.createElement("span");
    line.className = "bubble__pending-file";
    li.querySelector(".bubble").prepend(line);
  }
  const text = `📎 ${file.name || "file"} · ${formatSize(file.size)}`;
  if (line.textContent !== text) line.textContent = text;
}
