'use strict';
// Harness for the browser suite: a real `signet serve` on a free port (RP id and origins for
// http://localhost), the SDK test page on a second origin, and headless Debian Chromium driven by
// playwright-core with a CDP virtual authenticator that makes real passkeys.
//
// Environment:
//   SIGNET_BIN          prebuilt signet binary (run.sh builds once and sets it); if unset, the
//                       harness runs `go build ./cmd/signet` itself.
//   SIGNET_SDK_PAGE     directory with the bundled SDK test page (run.sh bundles it); if unset,
//                       the harness bundles sdk-page/ with esbuild itself.
//   CHROMIUM            browser binary (default: `which chromium`).
//   SIGNET_BROWSER_KEEP=1  keep each run's temp dir (database, signet log).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const http = require('node:http');
const { spawn, execFile, execFileSync } = require('node:child_process');

const HERE = path.resolve(__dirname, '..');
const REPO_ROOT = path.resolve(HERE, '..', '..');
const OUT_DIR = path.join(HERE, 'out');

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, error, stdout, stderr });
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function signetBinary(tmpDir) {
  if (process.env.SIGNET_BIN) {
    if (!fs.existsSync(process.env.SIGNET_BIN)) throw new Error(`SIGNET_BIN=${process.env.SIGNET_BIN} does not exist`);
    return process.env.SIGNET_BIN;
  }
  const out = path.join(tmpDir, 'signet');
  const res = await run('go', ['build', '-o', out, './cmd/signet'], { cwd: REPO_ROOT, timeout: 600_000 });
  if (res.code !== 0) throw new Error(`go build ./cmd/signet failed:\n${res.stderr || res.stdout}`);
  return out;
}

// One signet process with a throwaway SQLite database. The page is served by signet itself at
// http://localhost:<port>/; extraOrigins are other browser origins that may use passkeys with
// it and call its API (CORS).
class Signet {
  constructor() {
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-browser-'));
    this.logFile = path.join(this.tmpDir, 'signet.log');
    this.proc = null;
    this.exited = null;
    this._onExit = () => {
      if (this.proc && !this.exited) this.proc.kill('SIGKILL');
    };
    process.on('exit', this._onExit);
  }

  // corsOnly: origins that may call the API (CORS) but are not WebAuthn origins.
  // passkeys: false starts signet without --rp-id and --origin (passkeys off).
  async start({ extraOrigins = [], corsOnly = [], passkeys = true } = {}) {
    this.bin = await signetBinary(this.tmpDir);
    this.port = await freePort();
    this.origin = `http://localhost:${this.port}`;
    this.db = `sqlite:${path.join(this.tmpDir, 'signet.db')}`;
    const args = ['serve', '--listen', `127.0.0.1:${this.port}`, '--database', this.db];
    if (passkeys) args.push('--rp-id', 'localhost', '--origin', this.origin);
    for (const o of extraOrigins) args.push('--origin', o, '--cors-origin', o);
    for (const o of corsOnly) args.push('--cors-origin', o);
    this.args = args;
    fs.appendFileSync(this.logFile, `[browser] signet ${args.join(' ')}\n`);
    const fd = fs.openSync(this.logFile, 'a');
    this.proc = spawn(this.bin, args, { cwd: this.tmpDir, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => resolve((this.exited = { code, signal })));
      this.proc.on('error', (error) => resolve((this.exited = { code: -1, error })));
    });
    const deadline = Date.now() + 20_000;
    let last = '';
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`signet serve exited (${JSON.stringify(this.exited)}):\n${this.tail()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = err.cause?.code || err.message;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`signet did not become healthy (${last}):\n${this.tail()}`);
  }

  async cli(args) {
    const res = await run(this.bin, args, { cwd: this.tmpDir, timeout: 60_000 });
    fs.appendFileSync(this.logFile, `[browser] signet ${args[0]} ${args[1] || ''} exit ${res.code}\n${res.stderr}`);
    if (res.code !== 0) throw new Error(`signet ${args.join(' ')} failed (exit ${res.code}):\n${res.stderr}${res.stdout}`);
    return JSON.parse(res.stdout.trim().split('\n').pop());
  }

  // {orgId, userId, username, registrationCode}
  bootstrap({ orgName, username }) {
    return this.cli(['bootstrap', '--database', this.db, '--org-name', orgName, '--username', username]);
  }

  tail(n = 120) {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop({ keep = false } = {}) {
    if (this.proc && !this.exited) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => !this.exited && this.proc.kill('SIGKILL'), 5000);
      await this.exitPromise;
      clearTimeout(t);
    }
    process.removeListener('exit', this._onExit);
    if (!keep && process.env.SIGNET_BROWSER_KEEP !== '1') fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

// bundleSdkPage bundles sdk-page/entry.js (the official @dfns/sdk + @dfns/sdk-browser) for the
// browser with esbuild and copies index.html next to it. Returns the directory.
async function bundleSdkPage(outDir) {
  if (process.env.SIGNET_SDK_PAGE) return process.env.SIGNET_SDK_PAGE;
  const esbuild = require('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(HERE, 'sdk-page', 'entry.js')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    outfile: path.join(outDir, 'bundle.js'),
    logLevel: 'error',
  });
  fs.copyFileSync(path.join(HERE, 'sdk-page', 'index.html'), path.join(outDir, 'index.html'));
  return outDir;
}

// A tiny static file server for the SDK page, on its own port: a different origin from signet.
function staticServer(dir) {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
  const srv = http.createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname === '/' ? 'index.html' : new URL(req.url, 'http://x').pathname.slice(1);
    const file = path.join(dir, path.basename(name));
    if (!types[path.extname(file)] || !fs.existsSync(file)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)], 'Cache-Control': 'no-store' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      resolve({ origin: `http://localhost:${port}`, close: () => new Promise((r) => srv.close(r)) });
    });
  });
}

function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed (Debian: apt-get install -y chromium)');
  }
}

async function launchBrowser() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// addAuthenticator attaches a CDP virtual authenticator (by default a platform passkey provider
// with user verification; Chrome allows one internal one, so a second must be e.g. 'usb') to
// the page. Returns {cdp, id, credentials(), setPresence(), remove()}.
async function addAuthenticator(page, cdp, { transport = 'internal' } = {}) {
  cdp = cdp || (await page.context().newCDPSession(page));
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport,
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    id: authenticatorId,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    setPresence: (enabled) => cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled }),
    remove: () => cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId }),
  };
}

// recordExchanges keeps every API exchange the page makes (method, path, status, request and
// response bodies) and the browser console, so a failing step can show exactly what the server
// was sent and answered.
function recordExchanges(page) {
  const log = [];
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  page.on('response', async (res) => {
    const req = res.request();
    const url = new URL(req.url());
    if (!/^\/(auth|permissions)\b/.test(url.pathname)) return;
    const entry = { seq: log.length + 1, method: req.method(), path: url.pathname + url.search, status: res.status(), reqBody: req.postData() };
    const h = req.headers();
    entry.userAction = !!h['x-dfns-useraction'];
    log.push(entry);
    entry.done = (async () => {
      try {
        entry.resBody = req.method() === 'OPTIONS' ? '' : await res.text();
      } catch {
        entry.resBody = '(unavailable)';
      }
    })();
    await entry.done;
  });
  return { log, consoleLines };
}

function formatExchange(x) {
  const cut = (s) => (s && s.length > 1500 ? `${s.slice(0, 1500)}…(${s.length} bytes)` : s || '');
  return `#${x.seq} ${x.method} ${x.path}${x.userAction ? ' [X-DFNS-USERACTION]' : ''} -> ${x.status}\n   req: ${cut(x.reqBody)}\n   res: ${cut(x.resBody)}`;
}

// steps runs node:test `it`s in order over shared state: a step whose inputs an earlier failed
// step should have produced is skipped, and a failing step reports the page's API exchanges,
// its console and a screenshot.
function stepper({ it, state, page: getPage, log, name }) {
  let failures = 0;
  let shot = 0;
  function step(title, needs, fn, { timeout = 45_000 } = {}) {
    it(title, { timeout }, async (t) => {
      const missing = needs.filter((k) => state[k] === undefined);
      if (missing.length) {
        t.skip(`needs ${missing.join(', ')} from an earlier step`);
        return;
      }
      const rec = log();
      const mark = rec ? rec.log.length : 0;
      const cmark = rec ? rec.consoleLines.length : 0;
      try {
        await fn(t);
      } catch (err) {
        failures++;
        let extra = '';
        if (rec) {
          const xs = rec.log.slice(mark);
          await Promise.race([Promise.all(xs.map((x) => x.done)), new Promise((r) => setTimeout(r, 2000))]);
          extra += `\n--- API exchanges in this step (${xs.length}) ---\n${xs.map(formatExchange).join('\n') || '(none)'}`;
          const cs = rec.consoleLines.slice(cmark);
          if (cs.length) extra += `\n--- browser console ---\n${cs.join('\n')}`;
        }
        const page = getPage();
        if (page) {
          try {
            fs.mkdirSync(OUT_DIR, { recursive: true });
            const file = path.join(OUT_DIR, `${name}-failure-${++shot}.png`);
            await page.screenshot({ path: file, fullPage: true });
            extra += `\n--- screenshot: ${file}`;
          } catch {}
        }
        const e = new Error(`${(err && err.stack) || err}${extra}`);
        e.stack = e.message;
        throw e;
      }
    });
  }
  return { step, failures: () => failures };
}

module.exports = { Signet, bundleSdkPage, staticServer, launchBrowser, addAuthenticator, recordExchanges, formatExchange, stepper, OUT_DIR, HERE };
