// Benchmarks, as ratios against baselines measured in the same run (never absolute targets):
//  1. daemon start-up: spawn to first HTTP answer on its unix socket, vs a bare Node HTTP
//     server (jupyter-server-proxy waits for this on a user's first click);
//  2. RFB bridge throughput, server -> browser: bytes from a unix socket through the bridge
//     and a WebSocket, vs reading the same unix socket directly;
//  3. the client filter on clipboard text sent one byte per message: 1 MiB vs 256 KiB, whose
//     ratio is 4 when the cost is linear in bytes (16 if quadratic).
// Run: npm run bench (after npm run build).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, WebSocket } from 'ws';
import { bridge } from '../lib/bridge.js';
import { RfbClientFilter } from '../lib/rfb-filter.js';

const DAEMON = new URL('../dist/bin/jupyter-desktops-daemon.cjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'desktops-bench-'));
const median = a => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function get(socketPath) {
  return new Promise(resolve => {
    const req = request({ socketPath, path: '/healthz' }, res => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function startupMs(args, sock) {
  const t0 = performance.now();
  const p = spawn(process.execPath, args, {
    stdio: 'ignore',
    env: { ...process.env, XDG_RUNTIME_DIR: dir }
  });
  while (!(await get(sock))) {
    await new Promise(r => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  p.kill('SIGTERM');
  await new Promise(r => p.once('exit', r));
  return ms;
}

async function startup(runs = 7) {
  const base = [];
  const daemon = [];
  const bare = "require('http').createServer((q, s) => s.end('ok')).listen(process.argv[1])";
  for (let i = 0; i < runs; i++) {
    const s1 = join(dir, `bare${i}.sock`);
    base.push(await startupMs(['-e', bare, s1], s1));
    const s2 = join(dir, `d${i}.sock`);
    daemon.push(await startupMs([DAEMON, '--socket', s2, '--quiet'], s2));
  }
  return { base: median(base), daemon: median(daemon) };
}

/** A source that writes `total` bytes to whoever connects. */
function source(path, total) {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const server = createServer(sock => {
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!sock.write(chunk)) {
          return sock.once('drain', pump);
        }
      }
      sock.end();
    };
    pump();
  });
  return new Promise(r => server.listen(path, () => r(server)));
}

async function direct(path, total) {
  const t0 = performance.now();
  await new Promise(resolve => {
    let got = 0;
    const s = connect(path);
    s.on('data', d => (got += d.length));
    s.on('end', () => resolve(got));
  });
  return total / (1 << 20) / ((performance.now() - t0) / 1000);
}

async function throughBridge(path, total) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise(r => wss.once('listening', r));
  wss.on('connection', ws =>
    bridge(ws, path, { maxWidth: 7680, maxHeight: 4320, maxMessage: 1 << 20 })
  );
  const t0 = performance.now();
  await new Promise(resolve => {
    let got = 0;
    const ws = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`, { perMessageDeflate: false });
    ws.on('message', d => (got += d.length));
    ws.on('close', () => resolve(got));
  });
  const rate = total / (1 << 20) / ((performance.now() - t0) / 1000);
  wss.close();
  return rate;
}

/** CPU ms for the filter to pass `bytes` of ClientCutText pushed one byte at a time. */
function clipboardMs(bytes) {
  const f = new RfbClientFilter({ maxWidth: 3840, maxHeight: 2160, maxMessage: 2 << 20 });
  f.push(Buffer.from('RFB 003.008\n\x01\x01', 'latin1'));
  const head = Buffer.alloc(8);
  head.writeUInt8(6, 0);
  head.writeInt32BE(bytes, 4);
  const t0 = process.cpuUsage();
  f.push(head);
  const one = Buffer.from('x');
  for (let i = 0; i < bytes; i++) {
    f.push(one);
  }
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}

const clip = { small: [], big: [] };
for (let i = 0; i < 3; i++) {
  clip.small.push(clipboardMs(256 << 10));
  clip.big.push(clipboardMs(1 << 20));
}

const TOTAL = 512 << 20;
const src = await source(join(dir, 'rfb.sock'), TOTAL);
const rates = { direct: [], bridge: [] };
for (let i = 0; i < 3; i++) {
  rates.direct.push(await direct(join(dir, 'rfb.sock'), TOTAL));
  rates.bridge.push(await throughBridge(join(dir, 'rfb.sock'), TOTAL));
}
src.close();
const s = await startup();
rmSync(dir, { recursive: true, force: true });

const d = median(rates.direct);
const b = median(rates.bridge);
console.log(
  `bridge throughput: ${b.toFixed(0)} MiB/s vs direct socket ${d.toFixed(0)} MiB/s -> ratio ${(b / d).toFixed(2)}`
);
console.log(`  (a 1080p60 Tight stream needs about 12 MB/s: ${(b / 12).toFixed(0)}x headroom)`);
console.log(
  `daemon start-up: ${s.daemon.toFixed(0)} ms vs bare Node HTTP server ${s.base.toFixed(0)} ms -> ratio ${(s.daemon / s.base).toFixed(2)}`
);
const cs = median(clip.small);
const cb = median(clip.big);
console.log(
  `clipboard in 1-byte messages: 1 MiB ${cb.toFixed(0)} ms vs 256 KiB ${cs.toFixed(0)} ms of CPU -> ratio ${(cb / cs).toFixed(2)} (linear: 4)`
);
