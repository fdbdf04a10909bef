// What to do with a file someone picked, pasted or dropped, decided in the browser before
// anything is shown or sent:
// - a real picture (it decodes) is sent as an image; one over the server's limit (or in a type
//   the server doesn't take, like BMP) is redrawn on a canvas, longest side at most 2560 px,
//   as a JPEG, so a 12 MB phone photo goes out instead of being refused;
// - anything that does not decode (a PDF renamed .jpg included) is never previewed as a picture:
//   it goes as a file attachment (two-step upload, the server decides from the bytes what it is),
//   or is refused with the reason when it is too large.

import { api, readAsDataUrl } from "./api.js";

export const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"];
export const MAX_SIDE = 2560; // px, longest side of a scaled-down picture
export const QUALITY = 0.85;

const MB = 1024 * 1024;

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MB) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / MB).toFixed(1).replace(/\.0$/, "")} MB`;
}

async function decode(file) {
  try {
    return await createImageBitmap(file);
  } catch {
    return null; // not a picture this browser can read
  }
}

function looksLikeImage(file) {
  return file.type.startsWith("image/") || /\.(jpe?g|png|gif|webp|bmp|heic|heif|avif)$/i.test(file.name);
}

/** Redraw `bitmap` no larger than `side` px as a JPEG Blob. */
function toJpeg(bitmap, side, quality) {
  const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; // transparent PNGs: JPEG has no alpha
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0, width, height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("encode"))), "image/jpeg", quality);
  });
}

/**
 * Decide about one file. Resolves with one of:
 *   {kind: "image", dataUrl, scaled, width, height}
 *   {kind: "file", file}
 *   {kind: "refused", reason}
 */
export async function prepareFile(file, { imageMaxBytes, fileMaxBytes }) {
  if (!file || !file.size) return { kind: "refused", reason: "That file is empty." };
  const bitmap = looksLikeImage(file) ? await decode(file) : null;
  if (!bitmap) {
    if (file.size > fileMaxBytes) {
      return { kind: "refused", reason: `File is too large (at most ${formatSize(fileMaxBytes)}).` };
    }
    return { kind: "file", file };
  }
  try {
    const { width, height } = bitmap;
    if (IMAGE_TYPES.includes(file.type) && file.size <= imageMaxBytes) {
      return { kind: "image", dataUrl: await readAsDataUrl(file), scaled: false, width, height };
    }
    let side = Math.min(MAX_SIDE, Math.max(width, height));
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const blob = await toJpeg(bitmap, side, QUALITY);
      if (blob.size <= imageMaxBytes) {
        const dataUrl = await readAsDataUrl(blob);
        const scale = Math.min(1, side / Math.max(width, height));
        return {
          kind: "image",
          dataUrl,
          scaled: true,
          width: Math.round(width * scale),
          height: Math.round(height * scale),
        };
      }
      side = Math.round(side * 0.7);
    }
    return { kind: "refused", reason: "That picture is too large to send, even scaled down." };
  } catch {
    return { kind: "refused", reason: "That picture could not be read." };
  } finally {
    bitmap.close();
  }
}

/** Step one of a file send: upload it to the conversation; resolves with the Attachment. */
export async function uploadAttachment(conversationId, file) {
  const body = new FormData();
  body.append("file", file, file.name || "file");
  return api("POST", `/api/conversations/${encodeURIComponent(conversationId)}/attachments`, body);
}
