'use strict';
// A small SMTP sink on loopback (smtp-server, a devDependency of the version directory), so the
// harness can start signet with --smtp-addr and read the codes it mails. null when smtp-server
// is not installed in this version directory.

function createMailbox(sdkRequire) {
  let SMTPServer;
  try {
    ({ SMTPServer } = sdkRequire('smtp-server'));
  } catch {
    return null;
  }
  const messages = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  return {
    messages,
    async start() {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      this.addr = `127.0.0.1:${server.server.address().port}`;
      return this.addr;
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
    // code waits (10 s) for a message to `to` after `after` messages whose body has
    // "<label>: <code>" and returns the code.
    async code(to, label, after = 0) {
      const re = new RegExp(`${label}: (\\S+)`);
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
        for (const m of messages.slice(after)) {
          const hit = m.to.includes(to) && m.data.match(re);
          if (hit) return hit[1];
        }
      }
      throw new Error(`no ${label} mailed to ${to}`);
    },
  };
}

module.exports = { createMailbox };
