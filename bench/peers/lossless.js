// The seed design made lossless, as a Node developer would ship it after fixing the seed's loss:
// `ws` plus Ignite's HTTP REST API, one `putifabs` (put-if-absent) per message under a unique key (room + the
// client's id, so a retried send stores once), awaited before the sender is acked and the room is
// sent the message. A failed put is answered with an error and broadcast to nobody.
// It speaks the subset of docs/protocol.md that bench/loadgen.py uses: hello, join -> joined,
// send -> ack + message. No sessions, no per-room sequence, no catch-up.
'use strict';
const http = require('http');
const WebSocket = require('ws');

const PORT = Number(process.env.PORT || 0);
const REST = process.env.IGNITE_REST; // http://127.0.0.1:PORT/ignite
const CACHE = process.env.CACHE || 'lossless';
const BACKUPS = Number(process.env.BACKUPS || 0);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const stats = { received: 0, stored: 0, storeErrors: 0, broadcasts: 0 };
const rooms = new Map(); // room -> Set of sockets

function rest(params, done) {
  const query = new URLSearchParams(params).toString();
  http.get(`${REST}?${query}`, { agent }, (res) => {
    let body = '';
    res.on('data', (chunk) => { body += chunk; });
    res.on('end', () => {
      try {
        const answer = JSON.parse(body);
        done(res.statusCode === 200 && answer.successStatus === 0, answer.response);
      } catch (err) {
        done(false);
      }
    });
  }).on('error', () => done(false));
}

const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(req.url === '/stats' ? stats : { ok: true }));
});
const wss = new WebSocket.Server({ server });

wss.on('connection', (ws) => {
  ws.joined = new Set();
  ws.send(JSON.stringify({ type: 'hello', v: 1, user: 'peer' }));
  ws.on('close', () => { for (const room of ws.joined) rooms.get(room)?.delete(ws); });
  ws.on('message', (data) => {
    let frame;
    try { frame = JSON.parse(data.toString()); } catch (err) { return; }
    if (frame.type === 'join') {
      if (!rooms.has(frame.room)) rooms.set(frame.room, new Set());
      rooms.get(frame.room).add(ws);
      ws.joined.add(frame.room);
      ws.send(JSON.stringify({ type: 'joined', room: frame.room, last_seq: 0 }));
      return;
    }
    if (frame.type !== 'send' || !ws.joined.has(frame.room)) return;
    stats.received += 1;
    const message = { room: frame.room, author: 'peer', body: frame.body, client_id: frame.client_id,
      created_at: Date.now() };
    const text = JSON.stringify(message);
    rest({ cmd: 'putifabs', cacheName: CACHE, key: `${frame.room}:${frame.client_id}`, val: text }, (ok) => {
      if (!ok) {
        stats.storeErrors += 1;
        ws.send(JSON.stringify({ type: 'error', code: 'store_unavailable', client_id: frame.client_id }));
        return;
      }
      stats.stored += 1;
      ws.send(JSON.stringify({ type: 'ack', room: frame.room, client_id: frame.client_id,
        created_at: message.created_at }));
      const out = JSON.stringify({ type: 'message', message });
      for (const client of rooms.get(frame.room) || []) {
        if (client.readyState === WebSocket.OPEN) client.send(out);
      }
      stats.broadcasts += 1;
    });
  });
});

rest({ cmd: 'getorcreate', cacheName: CACHE, backups: String(BACKUPS), writeSynchronizationMode: 'FULL_SYNC' },
  (ok, response) => {
    if (!ok) { console.error('Ignite REST getorcreate failed', response); process.exit(1); }
    server.listen(PORT, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
  });
