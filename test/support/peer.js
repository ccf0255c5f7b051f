// A tiny TCP/UDP service and client for packet tests, run inside sandbox namespaces.
//   node peer.js serve tcp|udp PORT        answers every connection/datagram with "peer=<source address>"
//   node peer.js ask tcp|udp HOST PORT     prints the answer (exit 1 after 3 s without one)
//   node peer.js log udp PORT              prints "got <datagram>" for every datagram it receives
//   node peer.js stream udp HOST PORT SRC  sends a numbered datagram every 100 ms from source port SRC
"use strict";
const net = require("node:net");
const dgram = require("node:dgram");

const [mode, protocol, a, b] = process.argv.slice(2);
const fail = (why) => {
  console.error(why);
  process.exit(1);
};
setTimeout(() => mode === "ask" && fail("no answer"), 3000).unref();

if (mode === "serve" && protocol === "tcp") {
  // A client that closes at once (a reachability probe, `nc -z`) resets the connection: not the service's end.
  net.createServer((socket) => {
    socket.on("error", () => {});
    socket.end(`peer=${socket.remoteAddress.replace(/^::ffff:/, "")}\n`);
  }).listen(Number(a), () => console.log("listening"));
} else if (mode === "serve" && protocol === "udp") {
  // Both families on one socket (IPv4 clients appear as ::ffff:a.b.c.d).
  const socket = dgram.createSocket({ type: "udp6", ipv6Only: false });
  socket.on("message", (_msg, from) => socket.send(`peer=${from.address.replace(/^::ffff:/, "")}\n`, from.port, from.address));
  socket.bind(Number(a), () => console.log("listening"));
} else if (mode === "ask" && protocol === "tcp") {
  const socket = net.connect(Number(b), a);
  let answer = "";
  socket.on("data", (d) => (answer += d));
  socket.on("end", () => {
    process.stdout.write(answer);
    process.exit(answer ? 0 : 1);
  });
  socket.on("error", (err) => fail(err.message));
} else if (mode === "ask" && protocol === "udp") {
  const socket = dgram.createSocket(a.includes(":") ? "udp6" : "udp4");
  socket.on("message", (msg) => {
    process.stdout.write(msg);
    process.exit(0);
  });
  socket.send("hello", Number(b), a);
} else if (mode === "log" && protocol === "udp") {
  // Both families on one socket, as serve's.
  const socket = dgram.createSocket({ type: "udp6", ipv6Only: false });
  socket.on("message", (msg) => console.log(`got ${msg}`));
  socket.bind(Number(a), () => console.log("listening"));
} else if (mode === "stream" && protocol === "udp") {
  // One source port for the whole run: one conntrack entry, as a long-lived UDP client keeps.
  const socket = dgram.createSocket(a.includes(":") ? "udp6" : "udp4");
  let n = 0;
  socket.bind(Number(process.argv[6]), () => {
    console.log("sending");
    setInterval(() => socket.send(String(n++), Number(b), a), 100);
  });
} else {
  fail("usage: peer.js serve tcp|udp PORT | ask tcp|udp HOST PORT | log udp PORT | stream udp HOST PORT SRC");
}
