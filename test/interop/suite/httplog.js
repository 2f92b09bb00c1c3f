'use strict';
// Records every HTTP exchange the Dfns SDK makes, without changing what it sends.
//
// @dfns/sdk (0.8.x) sends everything through `require('cross-fetch').fetch`, which it reads once
// when `@dfns/sdk/utils/fetch` and `utils/userActionFetch` are first loaded (the middleware chain
// is composed at module load). So we replace the `fetch` export of the very cross-fetch instance
// that @dfns/sdk resolves *before* the SDK is required. The wrapper passes the request through
// untouched, reads the response's body and passes on a Response identical to the one it got.
//
// SIGNET_INTEROP_DEBUG=1 also prints each exchange to stderr as it happens.

const MAX_BODY = 4000;

function clip(s) {
  if (s === undefined || s === null) return s;
  s = String(s);
  return s.length > MAX_BODY ? `${s.slice(0, MAX_BODY)}... (${s.length} chars)` : s;
}

function headersToObject(h) {
  if (!h) return {};
  if (typeof h.forEach === 'function' && !Array.isArray(h)) {
    const o = {};
    h.forEach((v, k) => {
      o[k] = v;
    });
    return o;
  }
  return { ...h };
}

function formatExchange(x) {
  const lines = [`#${x.seq} ${x.method} ${x.url}`];
  for (const [k, v] of Object.entries(x.reqHeaders)) lines.push(`  > ${k}: ${v}`);
  if (x.reqBody !== undefined) lines.push(`  > body: ${clip(x.reqBody)}`);
  if (x.error) {
    lines.push(`  ! ${x.error}`);
  } else {
    lines.push(`  < ${x.status}${x.contentType ? ` (${x.contentType})` : ''} in ${x.ms}ms`);
    lines.push(`  < body: ${clip(x.resBody)}`);
  }
  return lines.join('\n');
}

function installHttpLog(sdkRequire) {
  const crossFetchPath = require.resolve('cross-fetch', { paths: [sdkRequire.resolve('@dfns/sdk/package.json')] });
  const crossFetch = require(crossFetchPath);
  if (crossFetch.__signetInteropWrapped) return crossFetch.__signetInteropLog;
  const original = crossFetch.fetch;
  const log = [];
  const debug = process.env.SIGNET_INTEROP_DEBUG === '1';

  const wrapped = async function (resource, options = {}) {
    const x = {
      seq: log.length + 1,
      method: options.method || 'GET',
      url: String(resource),
      path: new URL(String(resource)).pathname,
      reqHeaders: headersToObject(options.headers),
      reqBody: typeof options.body === 'string' ? options.body : options.body === undefined ? undefined : '<non-string body>',
    };
    log.push(x);
    const t0 = Date.now();
    try {
      const res = await original.call(this, resource, options);
      x.status = res.status;
      x.contentType = res.headers.get('content-type');
      x.retryAfter = res.headers.get('retry-after'); // 429s (suite/abuse.js)
      x.ms = Date.now() - t0;
      // Read the whole body here and hand the SDK an identical Response over it. Not
      // res.clone(): node-fetch 2 tees the body into two streams, and reading one to its end
      // while nobody reads the other stalls both once a body passes the 16 KiB stream buffer
      // (a large audit-log CSV hung the suite that way).
      const buf = Buffer.from(await res.arrayBuffer());
      x.resBody = buf.toString('utf8');
      if (debug) process.stderr.write(`${formatExchange(x)}\n`);
      return new crossFetch.Response(buf.length > 0 ? buf : null, { url: res.url, status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (err) {
      x.error = `${err.name}: ${err.message}`;
      if (debug) process.stderr.write(`${formatExchange(x)}\n`);
      throw err;
    }
  };
  crossFetch.fetch = wrapped;
  crossFetch.default = wrapped;
  crossFetch.__signetInteropWrapped = true;
  crossFetch.__signetInteropLog = log;
  return log;
}

module.exports = { installHttpLog, formatExchange };
