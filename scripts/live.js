#!/usr/bin/env node
// Listens to one live topic of the broker's WebSocket (/ws), as the pages do, and prints each message
// as one JSON line. Used by the tour in README.md and the docs (wscat is not needed).
//
//   TOKEN=<jwt> node scripts/live.js <topic> [--until <event or state>] [--ping] [--url ws://localhost:8080/ws]
//
// --until ends the listener (exit 0) at the first message whose event (`waiting.offer`) or data.state
// (`offered`) is that word; without it, it runs until Ctrl-C. --ping sends {"event":"ping"} once
// subscribed and every 20 s, as an open waiting page does: that checks in the owner's places in line.
'use strict';
const WebSocket = require('ws');

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args.splice(i, 2)[1];
};
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 && args.splice(i, 1).length === 1;
};
const url = option('--url') ?? `ws://localhost:${process.env.PORT || 8080}/ws`;
const until = option('--until');
const ping = flag('--ping');
const [topic] = args;
if (!topic || !process.env.TOKEN) {
  process.stderr.write('usage: TOKEN=<jwt> node scripts/live.js <topic> [--until <event or state>] [--ping] [--url ws://host:port/ws]\n');
  process.exit(2);
}

const ws = new WebSocket(`${url}?access_token=${encodeURIComponent(process.env.TOKEN)}`);
ws.on('open', () => ws.send(JSON.stringify({ event: 'subscribe', data: { topic } })));
ws.on('message', (raw) => {
  const msg = JSON.parse(raw.toString());
  process.stdout.write(`${JSON.stringify(msg)}\n`);
  if (msg.event === 'subscribed' && ping) {
    const send = () => ws.send(JSON.stringify({ event: 'ping' }));
    send();
    setInterval(send, 20_000).unref();
  }
  if (msg.event === 'error') process.exitCode = 1;
  if (until && (msg.event === until || msg.data?.state === until)) ws.close();
});
ws.on('close', () => process.exit(process.exitCode ?? 0));
ws.on('error', (e) => {
  process.stderr.write(`live.js: ${e.message}\n`);
  process.exit(1);
});
