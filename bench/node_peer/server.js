"use strict";
// System N of the Parley benchmark: the shape of the MERN + Socket.IO chat Parley replaces,
// storing in SQLite instead of MongoDB, so every report compares against the stack we replace.
//
//   PORT=9000 SQLITE_PATH=db.sqlite3 JWT_SECRET=... node server.js
//
// - POST /api/messages/send/:id with the `jwt` cookie: verify the token (HS256, the claims
//   bench/seed.py issues), look the sender up (the original's User.findById per request),
//   insert the message, answer 201 with it and emit `newMessage` to every socket of both people.
// - Socket.IO on /socket.io/: a socket names its user with `?userId=` on the handshake, as the
//   original client does (no authentication), and joins the room of that user id.
// - Socket event `sendMessage` {to, text, clientId} with an ack callback: insert, ack
//   {clientId, message} (or {clientId, status, message}), emit `newMessage` to every other
//   socket of both people (as Parley does: the ack carries the message to the sending socket).
// Users are read from the Parley-seeded database (table accounts_user); messages go to a table
// of their own, `node_messages`, with the app's PRAGMAs (WAL, synchronous=NORMAL).

const http = require("node:http");
const Database = require("better-sqlite3");
const jwt = require("jsonwebtoken");
const { Server } = require("socket.io");

const TEXT_MAX_LENGTH = 5000;
const port = Number(process.env.PORT);
const secret = process.env.JWT_SECRET;

const db = new Database(process.env.SQLITE_PATH, { timeout: 10000 });
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.exec(`CREATE TABLE IF NOT EXISTS node_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sender_id TEXT NOT NULL,
  receiver_id TEXT NOT NULL,
  text TEXT NOT NULL,
  image TEXT NOT NULL DEFAULT '',
  client_id TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
)`);
const findUser = db.prepare(
  "SELECT id, email, full_name FROM accounts_user WHERE id = ? AND is_active = 1",
);
const insert = db.prepare(
  "INSERT INTO node_messages (sender_id, receiver_id, text, client_id, created_at, updated_at)" +
    " VALUES (?, ?, ?, ?, ?, ?)",
);

function store(senderId, receiverId, text, clientId) {
  const now = new Date().toISOString();
  const info = insert.run(senderId, receiverId, text, clientId ?? null, now, now);
  return {
    _id: String(info.lastInsertRowid),
    senderId,
    receiverId,
    text,
    image: null,
    clientId: clientId ?? null,
    createdAt: now,
    updatedAt: now,
  };
}

function badInput(to, text) {
  if (typeof to !== "string" || !to) return "to is required";
  if (typeof text !== "string" || !text.trim()) return "Message text is required";
  if (text.length > TEXT_MAX_LENGTH) return `Message text must be at most ${TEXT_MAX_LENGTH} characters`;
  return null;
}

function cookieToken(header) {
  for (const part of (header || "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "jwt") return rest.join("=");
  }
  return null;
}

function answer(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(payload),
  });
  res.end(payload);
}

let io;

function announce(message, except) {
  // A socket send is answered with the message (the ack): like Parley, the sending socket
  // gets no second copy (socket.to() leaves it out); every other socket of both people does.
  const target = except ? except.to(message.receiverId) : io.to(message.receiverId);
  target.to(message.senderId).emit("newMessage", message);
}

const SEND_PATH = /^\/api\/messages\/send\/([^/?]+)$/;

function onRequest(req, res) {
  const match = req.method === "POST" && SEND_PATH.exec(req.url);
  if (!match) {
    if (!req.url.startsWith("/socket.io/")) answer(res, 404, { message: "Not found" });
    return;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    let sender;
    try {
      const claims = jwt.verify(cookieToken(req.headers.cookie), secret, {
        algorithms: ["HS256"],
      });
      sender = findUser.get(claims.sub);
    } catch {
      sender = undefined;
    }
    if (!sender) return answer(res, 401, { message: "Unauthorized" });
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return answer(res, 400, { message: "Invalid JSON" });
    }
    const receiverId = decodeURIComponent(match[1]);
    const problem = badInput(receiverId, body && body.text);
    if (problem) return answer(res, 400, { message: problem });
    const message = store(String(sender.id), receiverId, body.text, body.clientId);
    answer(res, 201, message);
    announce(message);
  });
}

const server = http.createServer(onRequest);
server.keepAliveTimeout = 120_000;
io = new Server(server, { transports: ["websocket"], perMessageDeflate: false, cors: {} });

io.on("connection", (socket) => {
  const userId = socket.handshake.query.userId;
  if (typeof userId !== "string" || !userId) {
    socket.disconnect(true);
    return;
  }
  socket.join(userId);
  socket.on("sendMessage", (data, ack) => {
    const reply = typeof ack === "function" ? ack : () => {};
    const clientId = data && typeof data.clientId === "string" ? data.clientId : null;
    const problem = badInput(data && data.to, data && data.text);
    if (problem) return reply({ clientId, status: 400, message: problem });
    const message = store(userId, data.to, data.text, clientId);
    reply({ clientId, message });
    announce(message, socket);
  });
});

server.listen(port, "127.0.0.1", () => console.log(`node peer listening on ${port}`));

function stop() {
  io.close();
  server.close(() => {
    db.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
