// The seed design (the original tutorial's chatServer.js), kept as the benchmark's reference:
// every incoming message is stored with one Ignite REST `cmd=put` keyed by Date.now(), then
// broadcast to every client. Messages stored in the same millisecond overwrite each other.
// Bench additions only: a "room" is the URL path (one path = the seed exactly), GET /stats.
'use strict';
const http = require('http');
const WebSocket = require('ws');

const PORT = Number(process.env.PORT || 0); // 0: any free port, printed on start
const REST = process.env.IGNITE_REST; // http://127.0.0.1:PORT/ignite
const CACHE = process.env.CACHE || 'chat';
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const stats = { received: 0, stored: 0, storeErrors: 0, broadcasts: 0 };

const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(req.url === '/stats' ? stats : { ok: true }));
});
const wss = new WebSocket.Server({ server });

function put(key, val, done) {
  const url = `${REST}?cmd=put&cacheName=${CACHE}&key=${key}&val=${encodeURIComponent(val)}`;
  http.get(url, { agent }, (res) => {
    let body = '';
    res.on('data', (chunk) => { body += chunk; });
    res.on('end', () => done(res.statusCode === 200 && body.includes('"successStatus":0')));
  }).on('error', () => done(false));
}

wss.on('connection', (ws, req) => {
  ws.room = req.url;
  ws.on('message', (data) => {
    const text = data.toString();
    stats.received += 1;
    put(Date.now(), text, (ok) => {
      if (ok) stats.stored += 1; else stats.storeErrors += 1;
      for (const client of wss.clients) {
        if (client.room === ws.room && client.readyState === WebSocket.OPEN) client.send(text);
      }
      stats.broadcasts += 1;
    });
  });
});

http.get(`${REST}?cmd=getorcreate&cacheName=${CACHE}`, { agent }, (res) => {
  res.resume();
  res.on('end', () => server.listen(PORT, '127.0.0.1', () => console.log(`listening ${server.address().port}`)));
}).on('error', (err) => { console.error('Ignite REST unreachable', err.message); process.exit(1); });
