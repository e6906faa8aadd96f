// browser.mjs: Debian's Chromium (/usr/bin/chromium), driven by
// playwright-core (no browser download), and the checks every case of the
// page makes after its own.
//
// Every request the page makes is recorded (the document, its scripts and
// styles, the API calls): all must go to the gateway's origin.  Every
// console error fails the case (a CSP violation is reported there), as
// does any cookie or storage entry the page leaves.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const CHROMIUM = process.env.SUITD_CHROMIUM || '/usr/bin/chromium';
export const ARTEFACTS = process.env.SUITD_UI_ARTEFACTS || path.join(process.cwd(), 'ui-artefacts');

// Without the networking flags Chromium's own background connections are
// refused by a closed network, many at a time; without a sandbox it runs
// as root (CI).  playwright-core gives every launch a fresh profile.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-features=Translate,OptimizationHints,MediaRouter'];

function playwright() {
  const dir = process.env.SUITD_UI_NODE_MODULES;
  if (!dir) throw new Error('SUITD_UI_NODE_MODULES is not set (the ui_npm_ci fixture installs playwright-core)');
  const req = createRequire(path.join(dir, 'noop.js'));
  return req('playwright-core');
}

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (packaging/install-deps.sh)`);
  }
  const { chromium } = playwright();
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}

export class Session {
  // The page of one case, on a fresh context (no cookies, no storage).
  static async open(browser, origin, opts = {}) {
    const s = new Session();
    s.origin = origin;
    s.requests = [];
    s.errors = [];
    s.context = await browser.newContext({
      viewport: opts.viewport || { width: 1280, height: 900 },
      timezoneId: opts.timezoneId || process.env.TZ || 'UTC',
      locale: 'en-GB',
      colorScheme: 'light',
      serviceWorkers: 'block',
    });
    s.page = await s.context.newPage();
    s.responses = [];
    s.document = null;          // the response for "/"
    s.lastAssess = null;        // the body of the last POST /v1/assess
    s.assessAuth = null;        // and its Authorization
    s.page.on('request', (r) => {
      s.requests.push({ url: r.url(), method: r.method() });
      if (r.method() === 'POST' && r.url() === `${origin}/v1/assess`) {
        s.lastAssess = r.postData();
        s.assessAuth = r.headers().authorization || null;
      }
    });
    s.page.on('response', (r) => {
      s.responses.push(r);
      if (r.url() === `${origin}/`) s.document = r;
    });
    s.page.on('console', (m) => {
      if (m.type() === 'error') s.errors.push(`console: ${m.text()}`);
    });
    s.page.on('pageerror', (e) => s.errors.push(`page error: ${e.message}`));
    s.page.on('requestfailed', (r) => {
      if (!r.url().startsWith(origin)) return;       // reported below as leaving the origin
      const f = r.failure();
      s.errors.push(`request failed: ${r.method()} ${r.url()}: ${f && f.errorText}`);
    });
    // Anything for another origin is refused here too, so a leak could
    // not reach the closed network even if the check below were wrong.
    await s.context.route((url) => !url.href.startsWith(`${origin}/`), (route) => route.abort());
    return s;
  }

  async goto(pathname = '/') {
    const resp = await this.page.goto(this.origin + pathname);
    await this.page.waitForSelector('#intake-panel:not([hidden]), #banner:not([hidden]), #token-panel:not([hidden])');
    return resp;
  }

  posts() {
    return this.requests.filter((r) => r.method === 'POST');
  }

  // Drops the console errors a case expects: Chromium reports every
  // 4xx/5xx answer to fetch() as one ("... status of 503 ...").
  expectErrors(re) {
    this.errors = this.errors.filter((e) => !re.test(e));
  }

  // The checks after every case.
  async finish() {
    const away = this.requests.filter((r) => !r.url.startsWith(`${this.origin}/`));
    if (away.length) throw new Error(`requests left the origin ${this.origin}: ${JSON.stringify(away)}`);
    if (this.errors.length) throw new Error(`the page reported errors:\n  ${this.errors.join('\n  ')}`);
    const cookies = await this.context.cookies();
    if (cookies.length) throw new Error(`the page set cookies: ${JSON.stringify(cookies)}`);
    const stored = await this.page.evaluate(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      idb: indexedDB.databases ? (await indexedDB.databases()).length : 0,
      caches: self.caches ? (await caches.keys()).length : 0,
    }));
    if (stored.local || stored.session || stored.cookie || stored.idb || stored.caches) {
      throw new Error(`the page stored something in the browser: ${JSON.stringify(stored)}`);
    }
    await this.context.close();
  }

  async screenshot(name, opts = {}) {
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    const file = path.join(ARTEFACTS, `${name}.png`);
    if (opts.element) {
      // The element with a margin of the page around it.
      // (boundingBox is in viewport coordinates; a full-page clip is in
      // the page's.)
      const box = await this.page.locator(opts.element).boundingBox();
      const scroll = await this.page.evaluate(() => ({ x: window.scrollX, y: window.scrollY }));
      const m = opts.margin || 0;
      const clip = {
        x: Math.max(0, box.x + scroll.x - m),
        y: Math.max(0, box.y + scroll.y - m),
        width: box.width + 2 * m,
        height: box.height + 2 * m,
      };
      await this.page.screenshot({ path: file, fullPage: true, clip });
    } else {
      await this.page.screenshot({ path: file, fullPage: opts.fullPage !== false });
    }
    return file;
  }
}

// ---- accessibility checks run in the page ------------------------------------

// Every visible form control has an accessible name (a label, a legend for
// radio groups, aria-label), and every visible text meets WCAG AA
// contrast against the background it is drawn on.  Returns the problems.
export async function audit(page) {
  return page.evaluate(() => {
    const problems = [];
    const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) &&
      getComputedStyle(e).visibility !== 'hidden';
    for (const c of document.querySelectorAll('input, select, textarea, button')) {
      if (!visible(c)) continue;
      const named = (c.labels && c.labels.length && [...c.labels].some((l) => l.textContent.trim())) ||
        (c.getAttribute('aria-label') || '').trim() ||
        (c.getAttribute('aria-labelledby') || '').trim() ||
        (c.tagName === 'BUTTON' && c.textContent.trim());
      if (!named) problems.push(`unlabelled ${c.tagName.toLowerCase()}#${c.id}`);
    }
    // What the page hides must not be drawn (a display rule can undo the
    // hidden attribute).
    for (const e of document.querySelectorAll('body [hidden]')) {
      if (e.getClientRects().length) problems.push(`#${e.id || e.className} is hidden but drawn`);
    }
    const rgb = (s) => {
      const m = s.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    };
    const lum = (c) => {
      const ch = [c.r, c.g, c.b].map((v) => {
        const x = v / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
    };
    const background = (e) => {
      for (let n = e; n; n = n.parentElement) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const e = t.parentElement;
      if (!t.textContent.trim() || seen.has(e) || !visible(e)) continue;
      if (e.closest('[hidden], noscript, .visually-hidden, option')) continue;
      seen.add(e);
      const st = getComputedStyle(e);
      const fg = rgb(st.color);
      const bg = background(e);
      if (!fg) continue;
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        problems.push(`contrast ${ratio.toFixed(2)}:1 for "${t.textContent.trim().slice(0, 40)}" (${st.color} on rgb(${bg.r}, ${bg.g}, ${bg.b}))`);
      }
    }
    return problems;
  });
}
