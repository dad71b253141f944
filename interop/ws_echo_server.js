// A Node `ws` echo server for orderwire's interop tests, the counterpart of
// ws_echo_server.py: the same options (--deflate, --tls CERT KEY) and the same
// commands (frag:<n>:<text>, ping-me, close:<code>). Prints its port, then
// serves until stdin closes.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const tlsAt = args.indexOf('--tls');
const server = tlsAt >= 0
  ? https.createServer({ cert: fs.readFileSync(args[tlsAt + 1]), key: fs.readFileSync(args[tlsAt + 2]) })
  : http.createServer();
const wss = new WebSocketServer({
  server,
  perMessageDeflate: args.includes('--deflate') ? { threshold: 0 } : false,
  maxPayload: 0,
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString('utf8');
    if (text !== null && text.startsWith('frag:')) {
      const rest = text.slice(5);
      const colon = rest.indexOf(':');
      const n = Number(rest.slice(0, colon));
      const body = rest.slice(colon + 1);
      const pieces = [];
      for (let i = 0; i < body.length; i += n) pieces.push(body.slice(i, i + n));
      if (pieces.length === 0) pieces.push('');
      pieces.forEach((piece, i) => ws.send(piece, { fin: i === pieces.length - 1 }));
    } else if (text === 'ping-me') {
      ws.once('pong', () => ws.send('pong-received'));
      ws.ping(Buffer.from('from-node'));
    } else if (text !== null && text.startsWith('close:')) {
      ws.close(Number(text.slice(6)), 'bye');
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
