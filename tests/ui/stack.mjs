// stack.mjs: a real suitd and a real suit-httpd in front of it, for the
// browser tests (the JavaScript twin of tests/http/httpdlib.py's Stack).
//
// Each Stack has its own temporary folder, suitd's Unix socket in it, and
// a gateway on 127.0.0.1 with a port of its own, serving the page from
// the source tree (http/ui).  Children are started under `setpriv
// --pdeathsig KILL` when it is there, so none outlives a test that dies;
// stop() ends them with SIGTERM and reports a non-zero exit (a sanitizer
// build's leak report fails the case that way).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.SUITD_SOURCE_DIR || path.resolve(HERE, '..', '..');
export const UI_DIR = path.join(SOURCE_DIR, 'http', 'ui');

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run the test through ctest)`);
  return v;
}

const HAVE_SETPRIV = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Proc {
  constructor(name, argv, logPath) {
    this.name = name;
    this.argv = argv;
    this.log = logPath;
    this.child = null;
    this.exit = null;
  }

  start() {
    const fd = fs.openSync(this.log, 'a');
    const [cmd, ...args] = HAVE_SETPRIV ? ['setpriv', '--pdeathsig', 'KILL', '--', ...this.argv] : this.argv;
    this.child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, SUITD_ALLOW_ROOT: '1' },
    });
    fs.closeSync(fd);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    return this;
  }

  text() {
    try {
      return fs.readFileSync(this.log, 'utf8');
    } catch (e) {
      return '';
    }
  }

  alive() {
    return this.child !== null && this.exit === null;
  }

  async waitFor(re, what, timeoutMs = 30000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = this.text().match(re);
      if (m) return m;
      if (this.exit) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before ${what}:\n${this.text().slice(-2000)}`);
      if (Date.now() > end) throw new Error(`${this.name}: no ${what} after ${timeoutMs} ms:\n${this.text().slice(-2000)}`);
      await sleep(25);
    }
  }

  // SIGTERM; the exit status (null when it had to be killed).
  async stop(timeoutMs = 20000) {
    if (!this.alive()) return this.exit ? this.exit.code : null;
    this.child.kill('SIGTERM');
    const done = await Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
    if (!done) {
      this.child.kill('SIGKILL');
      await this.exited;
      return null;
    }
    return done.code;
  }

  kill() {
    if (this.alive()) this.child.kill('SIGKILL');
  }
}

export class Stack {
  // opts: {httpdArgs: [], suitdArgs: [], startSuitd: true}
  constructor(opts = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'suitd-ui-'));
    this.sock = path.join(this.dir, 'suitd.sock');
    this.opts = opts;
    this.suitds = [];
    this.httpd = null;
    this.url = null;
  }

  // A suitd on the stack's socket (again, after stopSuitd), with the
  // bundled ruleset or `rules`.
  async startSuitd(rules) {
    const d = new Proc('suitd', [need('SUITD_BIN'), 'serve', '--socket', this.sock,
      '--rules', rules || process.env.SUITD_RULES || path.join(SOURCE_DIR, 'rules'), '--listen', 'none',
      ...(this.opts.suitdArgs || [])], path.join(this.dir, `suitd-${this.suitds.length}.log`));
    this.suitds.push(d);
    d.start();
    await d.waitFor(/suitd: ready/, 'its ready line');
    return d;
  }

  get suitd() {
    return this.suitds[this.suitds.length - 1];
  }

  async stopSuitd() {
    const rc = await this.suitd.stop();
    if (rc !== 0) throw new Error(`suitd exited ${rc} on SIGTERM:\n${this.suitd.text().slice(-2000)}`);
  }

  async start() {
    if (this.opts.startSuitd !== false) await this.startSuitd();
    this.httpd = new Proc('suit-httpd', [need('SUIT_HTTPD_BIN'), '--suitd', `unix:${this.sock}`,
      '--listen', '127.0.0.1:0', '--threads', '2', '--ui-dir', UI_DIR, ...(this.opts.httpdArgs || [])],
    path.join(this.dir, 'httpd.log'));
    this.httpd.start();
    await this.httpd.waitFor(/suit-httpd: ready/, 'its ready line');
    const m = this.httpd.text().match(/listening on (http:\/\/127\.0\.0\.1:\d+)\n/);
    if (!m) throw new Error(`no listening line:\n${this.httpd.text()}`);
    this.url = m[1];
    return this;
  }

  // Stops everything; throws when the gateway did not exit 0 on SIGTERM.
  async close() {
    let err = null;
    if (this.httpd) {
      const log = this.httpd.text();
      const rc = await this.httpd.stop();
      if (rc !== 0) err = new Error(`suit-httpd exited ${rc} on SIGTERM; its log ends:\n${log.slice(-3000)}`);
    }
    for (const d of this.suitds) await d.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (err) throw err;
  }

  // After a failed case: the ends of the logs (for the report), then
  // every process killed and the folder removed.
  abandon() {
    const tails = [this.httpd, ...this.suitds].filter(Boolean)
      .map((p) => `--- ${p.name} log ends:\n${p.text().slice(-1500)}`).join('\n');
    if (this.httpd) this.httpd.kill();
    for (const d of this.suitds) d.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
    return tails;
  }
}
