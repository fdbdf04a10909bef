// The JSON API client: same-origin fetch with the `jwt` cookie, errors as ApiError.

export class ApiError extends Error {
  /** status 0 means the request never reached the server (offline, DNS, reset). */
  constructor(message, status, data = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.data = data;
  }

  get isNetwork() {
    return this.status === 0;
  }
}

export const OFFLINE = "You are offline. Check your connection.";

/** Send people whose session ended to the login page, back here afterwards. */
export function redirectToLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login/?next=${encodeURIComponent(next)}`);
}

/** Call the API; resolves with the decoded JSON, rejects with ApiError (`retryAfter` in
 * seconds when the server said). A FormData body goes as multipart, anything else as JSON. */
export async function api(method, path, body, { signal } = {}) {
  const init = { method, credentials: "same-origin", cache: "no-store", signal, headers: {} };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(OFFLINE, 0);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status === 401) redirectToLogin();
  if (!response.ok) {
    const message = (data && data.message) || `Something went wrong (${response.status})`;
    const error = new ApiError(message, response.status, data);
    error.retryAfter = Number(response.headers.get("Retry-After")) || null;
    throw error;
  }
  return data;
}

/** PUT/POST JSON with upload progress (fetch cannot report it); same errors as api(). */
export function apiWithProgress(method, path, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      const data = xhr.response;
      if (xhr.status === 401) redirectToLogin();
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError((data && data.message) || `Something went wrong (${xhr.status})`, xhr.status, data));
    });
    xhr.addEventListener("error", () => reject(new ApiError(OFFLINE, 0)));
    xhr.send(JSON.stringify(body));
  });
}

/** Read a File as a data: URL (what the API takes for images). */
export function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener("load", () => resolve(reader.result));
    reader.addEventListener("error", () => reject(reader.error));
    reader.readAsDataURL(file);
  });
}
