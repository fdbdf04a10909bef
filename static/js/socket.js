// One WebSocket per tab to /ws/, kept alive: heartbeat, reconnect with backoff and jitter.
//
// Events (EventTarget): "open" {detail: {reconnected}}, "status" {detail: state},
// "unauthorized", and one event per server frame name ("ready", "newMessage", "typing", ...).

const PING_EVERY = 25_000; // ms; proxies drop idle sockets after about a minute
const PONG_WITHIN = 10_000; // no answer by then: the connection is dead even if not closed
const BACKOFF_BASE = 500;
const BACKOFF_MAX = 30_000;
const UNAUTHORIZED = 4401; // the server's "log in again" close code

export class ChatSocket extends EventTarget {
  constructor(url = ChatSocket.defaultUrl()) {
    super();
    this.url = url;
    this.ws = null;
    this.attempt = 0;
    this.everOpened = false;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.state = "connecting";
    // The browser knows before the socket does: drop at once when offline, retry when online.
    window.addEventListener("offline", () => this.#dropForOffline());
    window.addEventListener("online", () => this.reconnectNow());
    // Phones freeze background tabs; check the line as soon as the tab is visible again.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.#ping();
    });
  }

  static defaultUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    // Presence as userOnline/userOffline among the people we share a conversation with.
    return `${scheme}//${location.host}/ws/?presence=delta`;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    if (this.stopped || this.ws) return;
    if (!navigator.onLine) {
      this.#setState("offline");
      return;
    }
    this.#setState(this.everOpened ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.#setState("open");
      this.#schedulePing();
      this.dispatchEvent(new CustomEvent("open", { detail: { reconnected } }));
    });
    ws.addEventListener("message", (message) => {
      if (this.ws !== ws) return;
      this.#alive();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      if (frame && typeof frame.event === "string") {
        // Only a socket the server finished setting up ends the backoff: one that is accepted
        // and closed at once (Redis down: 4503) keeps backing off instead of hammering.
        if (frame.event === "ready") this.attempt = 0;
        this.dispatchEvent(new CustomEvent(frame.event, { detail: frame.data }));
      }
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.#clearTimers();
      if (event.code === UNAUTHORIZED) {
        this.stopped = true;
        this.dispatchEvent(new Event("unauthorized"));
        return;
      }
      this.dispatchEvent(new Event("close"));
      this.#scheduleReconnect();
    });
  }

  /** Send a frame; false when the socket is not open (the caller decides what to do). */
  send(event, data) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(data === undefined ? { event } : { event, data }));
    return true;
  }

  /** Try again now, forgetting the backoff (the network just came back). */
  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = 0;
    if (!this.ws) this.connect();
  }

  #dropForOffline() {
    this.#setState("offline");
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.#abandon();
  }

  /** Forget the current socket now, without waiting for a closing handshake that may never come. */
  #abandon() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.#clearTimers();
    ws.close();
    this.dispatchEvent(new Event("close"));
  }

  #scheduleReconnect() {
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.#setState("offline");
      return;
    }
    this.#setState("reconnecting");
    // Exponential backoff with "equal jitter": thousands of tabs don't come back in lockstep.
    const ceiling = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  #schedulePing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => this.#ping(), PING_EVERY);
  }

  #ping() {
    if (!this.isOpen || this.pongTimer) return;
    this.send("ping");
    const ws = this.ws;
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      if (this.ws !== ws) return;
      this.#abandon();
      this.#scheduleReconnect();
    }, PONG_WITHIN);
  }

  #alive() {
    clearTimeout(this.pongTimer);
    this.pongTimer = null;
    this.#schedulePing();
  }

  #clearTimers() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("status", { detail: state }));
  }
}
