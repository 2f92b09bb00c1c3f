'use strict';
// Process harness for the interop suite: builds (if needed), bootstraps and runs a real
// signet server on a free loopback port with a throwaway database, and tears it down.
//
// Environment:
//   SIGNET_BIN            prebuilt signet binary (run.sh builds once and sets it); if unset,
//                         the harness runs `go build ./cmd/signet` itself.
//   SIGNET_INTEROP_DB     "sqlite" (default) or "postgres".
//   SIGNET_TEST_POSTGRES  admin URL used with SIGNET_INTEROP_DB=postgres, e.g.
//                         postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable ; a fresh
//                         database signet_interop_<random> is created from it and dropped after.
//   SIGNET_INTEROP_KEEP=1 keep the temporary directory (database, key file, logs) afterwards.
//   SIGNET_INTEROP_TLS_CERT, SIGNET_INTEROP_TLS_KEY
//                         serve HTTPS with this certificate (for localhost and 127.0.0.1) and
//                         key: the SDK then talks to https://localhost:<port>. run.sh makes a test
//                         CA and sets these with NODE_EXTRA_CA_CERTS, which Node reads only at
//                         start-up, so the SDK trusts the CA through Node's own TLS, unchanged.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const crypto = require('node:crypto');
const { spawn, execFile } = require('node:child_process');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const HEALTH_TIMEOUT_MS = 20_000;

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, error, stdout, stderr });
    });
  });
}

async function buildSignet(outDir) {
  if (process.env.SIGNET_BIN) {
    if (!fs.existsSync(process.env.SIGNET_BIN)) {
      throw new Error(`SIGNET_BIN=${process.env.SIGNET_BIN} does not exist`);
    }
    return process.env.SIGNET_BIN;
  }
  const out = path.join(outDir, 'signet');
  const res = await run('go', ['build', '-o', out, './cmd/signet'], { cwd: REPO_ROOT, timeout: 600_000 });
  if (res.code !== 0) {
    throw new Error(
      `interop: \`go build ./cmd/signet\` failed in ${REPO_ROOT} (exit ${res.code}); the server cannot be tested.\n` +
        `${res.stderr || res.stdout || String(res.error)}`.trimEnd(),
    );
  }
  return out;
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

function psqlArgs(url, sql) {
  return [url, '-v', 'ON_ERROR_STOP=1', '-qAtX', '-c', sql];
}

// Returns { url, label, drop() }.
async function createDatabase(tmpDir) {
  const kind = (process.env.SIGNET_INTEROP_DB || 'sqlite').toLowerCase();
  if (kind === 'sqlite') {
    const file = path.join(tmpDir, 'signet.db');
    return { kind, url: `sqlite:${file}`, label: 'sqlite', drop: async () => {} };
  }
  if (kind !== 'postgres') {
    throw new Error(`SIGNET_INTEROP_DB must be "sqlite" or "postgres", got ${JSON.stringify(kind)}`);
  }
  const admin = process.env.SIGNET_TEST_POSTGRES;
  if (!admin) {
    throw new Error('SIGNET_INTEROP_DB=postgres needs SIGNET_TEST_POSTGRES (an admin postgres:// URL)');
  }
  const name = `signet_interop_${crypto.randomBytes(6).toString('hex')}`;
  const created = await run('psql', psqlArgs(admin, `CREATE DATABASE ${name}`), { timeout: 30_000 });
  if (created.code !== 0) {
    throw new Error(`interop: could not create database ${name} via psql ${redactUrl(admin)}: ${created.stderr || created.error}`);
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    kind,
    url: u.toString(),
    label: `postgres (${name})`,
    drop: async () => {
      const res = await run('psql', psqlArgs(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), { timeout: 30_000 });
      if (res.code !== 0) process.stderr.write(`interop: warning: could not drop database ${name}: ${res.stderr}\n`);
    },
  };
}

function redactUrl(s) {
  try {
    const u = new URL(s);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<url>';
  }
}

class SignetServer {
  constructor() {
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-interop-'));
    this.logFile = path.join(this.tmpDir, 'signet.stderr.log');
    this.proc = null;
    this.exited = null;
    this.db = null;
    this.bin = null;
    this.baseUrl = null;
    this._onExit = () => {
      if (this.proc && this.exited === null) {
        try {
          this.proc.kill('SIGKILL');
        } catch {}
      }
    };
    process.on('exit', this._onExit);
  }

  log(line) {
    fs.appendFileSync(this.logFile, `[interop] ${line}\n`);
  }

  async start() {
    this.bin = await buildSignet(this.tmpDir);
    this.db = await createDatabase(this.tmpDir);
    const port = await freePort();
    this.baseUrl = `http://127.0.0.1:${port}`;
    const args = ['serve', '--listen', `127.0.0.1:${port}`, '--database', this.db.url];
    this.tls = Boolean(process.env.SIGNET_INTEROP_TLS_CERT);
    if (this.tls) {
      this.baseUrl = `https://localhost:${port}`;
      args.push('--tls-cert', process.env.SIGNET_INTEROP_TLS_CERT, '--tls-key', process.env.SIGNET_INTEROP_TLS_KEY);
    }
    args.push(...(this.extraArgs || [])); // e.g. --smtp-addr of suite/mailbox.js
    this.log(`starting: ${this.bin} ${args.map((a) => (a === this.db.url ? redactUrl(a) : a)).join(' ')} (cwd ${this.tmpDir})`);
    const logFd = fs.openSync(this.logFile, 'a');
    this.proc = spawn(this.bin, args, { cwd: this.tmpDir, stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
      this.proc.on('error', (err) => {
        this.exited = { code: -1, signal: null, error: err };
        resolve(this.exited);
      });
    });
    await this.waitHealthy();
  }

  async waitHealthy() {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    let last = 'no attempt';
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new Error(
          `interop: signet serve exited before becoming healthy (${JSON.stringify(this.exited)}).\n` +
            `--- signet stderr ---\n${this.tail()}`,
        );
      }
      try {
        const res = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
        const text = await res.text();
        if (res.status === 200) {
          this.health = { status: res.status, contentType: res.headers.get('content-type'), text };
          return;
        }
        last = `HTTP ${res.status} ${text.slice(0, 200)}`;
      } catch (err) {
        last = `${err.cause?.code || err.name}: ${err.cause?.message || err.message}`;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(
      `interop: signet did not answer 200 on ${this.baseUrl}/healthz within ${HEALTH_TIMEOUT_MS / 1000}s ` +
        `(last: ${last}).\n--- signet stderr ---\n${this.tail()}`,
    );
  }

  async bootstrap({ orgName, username }) {
    const args = ['bootstrap', '--database', this.db.url, '--org-name', orgName, '--username', username];
    this.log(`running: signet bootstrap --org-name ${orgName} --username ${username}`);
    const res = await run(this.bin, args, { cwd: this.tmpDir, timeout: 60_000 });
    fs.appendFileSync(this.logFile, `[interop] bootstrap exit ${res.code}; stderr:\n${res.stderr}\n[interop] bootstrap stdout:\n${res.stdout}\n`);
    if (res.code !== 0) {
      throw new Error(`interop: signet bootstrap failed (exit ${res.code}):\n${res.stderr}${res.stdout}`);
    }
    const lines = res.stdout.split('\n').filter((l) => l.trim() !== '');
    if (lines.length !== 1) {
      throw new Error(`interop: signet bootstrap must print exactly one JSON line on stdout, got ${lines.length}:\n${res.stdout}`);
    }
    try {
      return JSON.parse(lines[0]);
    } catch (err) {
      throw new Error(`interop: signet bootstrap stdout is not JSON (${err.message}):\n${res.stdout}`);
    }
  }

  // `signet user invite`: a fresh registration code for a user created through POST /auth/users
  // (the code would otherwise go by SMTP). Same cwd (so the same ./signet.key) and database as serve.
  async inviteUser({ orgId, username }) {
    const args = ['user', 'invite', '--database', this.db.url, '--org', orgId, '--username', username];
    this.log(`running: signet user invite --org ${orgId} --username ${username}`);
    const res = await run(this.bin, args, { cwd: this.tmpDir, timeout: 60_000 });
    fs.appendFileSync(this.logFile, `[interop] user invite exit ${res.code}; stderr:\n${res.stderr}\n[interop] user invite stdout:\n${res.stdout}\n`);
    if (res.code !== 0) {
      throw new Error(`interop: signet user invite failed (exit ${res.code}):\n${res.stderr}${res.stdout}`);
    }
    const lines = res.stdout.split('\n').filter((l) => l.trim() !== '');
    if (lines.length !== 1) {
      throw new Error(`interop: signet user invite must print exactly one JSON line on stdout, got ${lines.length}:\n${res.stdout}`);
    }
    try {
      return JSON.parse(lines[0]);
    } catch (err) {
      throw new Error(`interop: signet user invite stdout is not JSON (${err.message}):\n${res.stdout}`);
    }
  }

  tail(maxLines = 200) {
    let text = '';
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '(no log)';
    }
    const lines = text.split('\n');
    return (lines.length > maxLines ? [`... (${lines.length - maxLines} earlier lines in ${this.logFile})`] : [])
      .concat(lines.slice(-maxLines))
      .join('\n');
  }

  async stop({ keep = false } = {}) {
    if (this.proc && this.exited === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (this.exited === null) this.proc.kill('SIGKILL');
      }, 5000);
      await this.exitPromise;
      clearTimeout(timer);
    }
    process.removeListener('exit', this._onExit);
    if (this.db) await this.db.drop();
    if (!keep && process.env.SIGNET_INTEROP_KEEP !== '1') {
      fs.rmSync(this.tmpDir, { recursive: true, force: true });
    }
  }
}

module.exports = { SignetServer, freePort, createDatabase };
