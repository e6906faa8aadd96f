#!/usr/bin/env node
// test_page.mjs: the consultation page (issue 18) in a real browser
// (Debian's Chromium, driven by playwright-core) against a real suitd and
// a real suit-httpd.  Each case starts its own stack and browser, fills
// the form as a person would, checks what the page shows, and leaves a
// screenshot in $SUITD_UI_ARTEFACTS.  After every case: no request left
// the gateway's origin, no console error (a CSP violation is one), no
// cookie or storage, no unlabelled control, no text under WCAG AA
// contrast, and the gateway exits 0 on SIGTERM.
//
// usage: node test_page.mjs [CASE...]    (ctest runs one case per test)
// SUIT_UPDATE_DOCS=1 also rewrites docs/ui-defer.png, README's screenshot.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { Session, audit, launch } from './browser.mjs';
import { SOURCE_DIR, Stack } from './stack.mjs';

// A zone far from UTC, so a date computed in UTC instead of local time
// (toISOString) is caught for half of each day; the browser gets it too.
const TZ = 'Pacific/Auckland';
process.env.TZ = TZ;

const README_SHOT = path.join(SOURCE_DIR, 'docs', 'ui-defer.png');
const README_SHOT_MAX = 200 * 1024;

const BASE = { age: 35, pregnant: false, breastfeeding: false, fitzpatrick: 2, area: 'cheeks', indication: 'acne-scars' };

// ---- helpers ----------------------------------------------------------------

// The calendar date days after today in local time, YYYY-MM-DD: the
// test's own arithmetic, not the page's.
function localDatePlus(days) {
  const now = new Date();
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  d.setDate(d.getDate() + days);
  return [d.getFullYear(), d.getMonth() + 1, d.getDate()].map((n, i) => String(n).padStart(i ? 2 : 4, '0')).join('-');
}

async function pickTerm(page, combo, text, name) {
  await combo.fill(text);
  const list = page.locator(`#${await combo.getAttribute('id')}-list`);
  await list.waitFor({ state: 'visible' });
  await list.locator('[role="option"]', { has: page.locator('.picker-extra', { hasText: new RegExp(`^${name}( ·|$)`) }) })
    .first().click();
}

// Fills the form with the mouse and fill(), as most people would.
async function fill(page, p) {
  if ('age' in p) await page.getByLabel(/^Age/).fill(String(p.age));
  for (const k of ['pregnant', 'breastfeeding']) {
    if (k in p) {
      await page.getByRole('radiogroup', { name: new RegExp(`^${k}`, 'i') })
        .getByLabel(p[k] ? 'Yes' : 'No', { exact: true }).check();
    }
  }
  if ('fitzpatrick' in p) await page.getByLabel(/^Fitzpatrick/).selectOption(String(p.fitzpatrick));
  if ('area' in p) await pickTerm(page, page.getByRole('combobox', { name: /^Treatment area/ }), p.area, p.area);
  if ('indication' in p) await pickTerm(page, page.getByRole('combobox', { name: /^Indication/ }), p.indication, p.indication);
  for (const [list, add] of [['medications', 'Add a medication'], ['conditions', 'Add a condition'],
    ['procedures', 'Add a procedure']]) {
    for (const item of p[list] || []) {
      await page.getByRole('button', { name: add }).click();
      const row = page.locator(`#f-${list} li.row`).last();
      const combo = row.getByRole('combobox');
      if (item.pick) await pickTerm(page, combo, item.name, item.pick);
      else await combo.fill(item.name);
      if ('days' in item) await row.locator('input.num:visible').fill(String(item.days));
    }
  }
}

// Presses Assess and waits for what follows: a new answer, the banner,
// or the list of values to correct.
async function assessAndWait(page) {
  const old = await page.$('#verdict-heading');
  await page.getByRole('button', { name: 'Assess', exact: true }).click();
  await page.waitForFunction((h) => (!h || !h.isConnected) && !document.getElementById('assess').disabled, old);
  await page.locator('#verdict-heading, #banner:not([hidden]), #form-errors:not([hidden])').first().waitFor();
}

async function verdictLine(page) {
  await page.locator('#verdict-heading').waitFor();
  return (await page.locator('#verdict-heading').textContent()).trim();
}

async function checkAudit(page, when) {
  const problems = await audit(page);
  assert.deepEqual(problems, [], `accessibility problems ${when}:\n  ${problems.join('\n  ')}`);
}

// The answer on the page, as the lines `suit check` prints (its sources
// as keys, without what only the page has: citations, the wait per
// finding, the facts assessed, the trace).
async function pageLines(page) {
  return page.evaluate(() => {
    const text = (e) => (e ? e.textContent.trim() : '');
    const own = (e) => [...e.childNodes].filter((n) => !(n.tagName === 'BUTTON')).map((n) => n.textContent).join('').trim();
    const out = [text(document.getElementById('verdict-heading'))];
    for (const part of document.querySelectorAll('#answer .answer-part')) {
      if (part.matches('.facts, .trace')) continue;
      out.push(text(part.querySelector('h3')));
      if (part.matches('.findings')) {
        for (const sev of part.querySelectorAll('.severity')) {
          out.push(text(sev.querySelector('h4')));
          for (const f of sev.querySelectorAll('.finding')) {
            for (const q of ['.finding-summary', '.suggestion', '.finding-detail', '.finding-action']) {
              const e = f.querySelector(q);
              if (e) out.push(own(e));
            }
          }
        }
        if (!part.querySelector('.severity')) out.push(text(part.querySelector('p')));
      } else if (part.matches('.side-effects')) {
        for (const e of part.querySelectorAll('h4, li')) out.push(text(e));
      } else if (part.matches('.plan')) {
        const dts = part.querySelectorAll('dt');
        if (!dts.length) out.push(text(part.querySelector('p')));
        for (const dt of dts) out.push(`${text(dt)}: ${text(dt.nextElementSibling)}`);
      } else if (part.matches('.aftercare')) {
        part.querySelectorAll('li').forEach((li, i) => out.push(`${i + 1}. ${text(li)}`));
      }
    }
    out.push(text(document.querySelector('.ruleset-line')));
    const policy = document.querySelector('.policy-line');
    if (policy) out.push(text(policy));
    out.push(text(document.querySelector('.answer-foot .clinician')));
    return out;
  });
}

// suit check's report of the patient the page sent, from the same suitd,
// as lines without indentation, sources and the missing facts' items
// (which name suit's flags).
function suitCheckLines(stack, patient) {
  const r = spawnSync(process.env.SUIT_BIN, ['check', '-f', '-', '--socket', stack.sock, '--color=never'],
    { input: JSON.stringify(patient), encoding: 'utf8' });
  assert.ok(r.stdout, `suit check printed nothing: ${r.stderr}`);
  const out = [];
  let inMissing = false;
  for (const raw of r.stdout.split('\n')) {
    const line = raw.trim().replace(/^- /, '');
    if (!line || line.startsWith('Source: ')) continue;
    if (raw && !raw.startsWith(' ')) inMissing = line.startsWith('Missing facts');
    else if (inMissing) continue;
    out.push(line);
  }
  return out;
}

// The page says what suit check says, word for word.
async function sameAsSuitCheck(s, stack) {
  const patient = JSON.parse(s.lastAssess).patient;
  assert.deepEqual(await pageLines(s.page), suitCheckLines(stack, patient));
}

// The number of pages of a PDF Chromium printed: its page objects.
function pdfPages(buf) {
  return (buf.toString('latin1').match(/\/Type\s*\/Page(?![s\w])/g) || []).length;
}

// ---- the cases ------------------------------------------------------------------

const CASES = {};
const kase = (name, fn) => { CASES[name] = fn; };

kase('suitable', async ({ s, stack }) => {
  const page = s.page;
  await fill(page, BASE);
  await checkAudit(page, 'on the filled form');
  await assessAndWait(page);
  assert.equal(await verdictLine(page), 'Suitable: nothing found that stands in the way');
  assert.match(await page.locator('#verdict').getAttribute('class'), /\bverdict-suitable\b/);
  await sameAsSuitCheck(s, stack);
  // The verdict heading has the focus, so a screen reader reads it first.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'verdict-heading');
  const info = page.locator('.severity-info');
  assert.equal(await info.locator('h4').textContent(), 'Information');
  assert.match(await info.textContent(), /Needle depth guide for the cheeks/);
  // Sources are the ruleset's full citations, weak evidence marked.
  assert.match(await info.textContent(), /SkinPen Precision labelling \(FDA De Novo DEN160029\)/);
  const weak = await info.locator('.sources li', { hasText: /^clinic/ }).first().textContent();
  assert.equal(weak, 'clinic Clinic and vendor pages (weak evidence).');
  const plan = page.locator('.plan');
  assert.equal(await plan.locator('h3').textContent(), 'Course plan');
  assert.match(await plan.textContent(), /Sessions3 to 6, every 4 weeks/);
  assert.match(await plan.textContent(), /Cost per session\$100 to \$700 \(typical \$300\)/);
  assert.match(await plan.textContent(), /Course total\$300 to \$4,200/);
  assert.equal(await page.locator('.side-effects h4').first().textContent(), 'Expected');
  assert.match(await page.locator('.side-effects').textContent(), /redness \(common\): Like a moderate sunburn/);
  assert.ok(await page.locator('.aftercare ol li').count() >= 3, 'aftercare is listed');
  assert.match(await page.locator('.ruleset-line').textContent(), /^Ruleset: microneedling \d+\.\d+\.\d+ \([0-9a-f]{12}\)$/);
  assert.equal(await page.locator('.answer-foot .clinician').textContent(),
    'Decision support for a licensed professional; the decision stays with the clinician.');
  // The rule trace is there but hidden until "explain" is on.
  assert.equal(await page.locator('#trace').isVisible(), false);
  await page.getByLabel('Explain: show the rules that fired').check();
  assert.equal(await page.locator('#trace h3').textContent(), 'Rules fired, in order');
  assert.match(await page.locator('#trace').textContent(), /plan-acne-scars/);
  await checkAudit(page, 'on the answer');
  await s.screenshot('suitable');
  // Facts edited after the answer: the page says the answer is for the
  // facts as they were, until Assess again.
  const changed = page.locator('#answer-changed');
  assert.equal(await changed.isVisible(), false);
  await page.getByLabel(/^Age/).fill('36');
  assert.equal(await changed.isVisible(), true);
  await assessAndWait(page);
  assert.equal(await changed.isVisible(), false);
  assert.equal(JSON.parse(s.lastAssess).patient.age, 36);
});

kase('defer', async ({ s, stack, update }) => {
  const page = s.page;
  await fill(page, { ...BASE, medications: [{ name: 'isotr', pick: 'isotretinoin', days: 120 }] });
  const early = localDatePlus(60);
  await assessAndWait(page);
  const late = localDatePlus(60);
  const line = await verdictLine(page);
  assert.ok([early, late].some((d) => line === `Defer: come back in 60 days (on ${d})`), line);
  const date = line.match(/on (\d{4}-\d{2}-\d{2})/)[1];
  assert.equal(await page.locator('.return-date time').getAttribute('datetime'), date);
  const [y, m, d] = date.split('-').map(Number);
  const weekday = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][new Date(y, m - 1, d, 12).getDay()];
  const month = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
    'October', 'November', 'December'][m - 1];
  const long = await page.locator('.return-date time').textContent();
  assert.ok(long.startsWith(weekday) && long.includes(`${d} ${month} ${y}`), `return date "${long}" for ${date}`);
  assert.match(await page.locator('#verdict').getAttribute('class'), /\bverdict-defer\b/);
  await sameAsSuitCheck(s, stack);
  // The deferral's finding, first among the findings, with its reason,
  // action and its three sources as citations.
  const sev = page.locator('.findings .severity').first();
  assert.equal(await sev.locator('h4').textContent(), 'Defer');
  const f = sev.locator('.finding').first();
  assert.match(await f.locator('.finding-summary').textContent(), /^Stopped isotretinoin 120 days ago: within the 180-day washout \[isotretinoin-washout\]$/);
  assert.match(await f.locator('.finding-detail').textContent(), /The labelling asks for 6 months/);
  assert.match(await f.locator('.finding-action').textContent(), /^Action: Defer until the washout ends/);
  assert.equal(await f.locator('.finding-days').textContent(), 'Wait 60 days');
  const cites = await f.locator('.sources li').allTextContents();
  assert.equal(cites.length, 3, cites.join('|'));
  assert.match(cites[0], /^LBL Isotretinoin product labelling/);
  assert.match(cites[1], /^SPR Spring et al\., isotretinoin and procedures, JAMA Dermatol 2017/);
  assert.match(cites[2], /^WAL Waldman et al\./);
  assert.equal(await page.locator('.plan h3').textContent(), 'Course plan (if treatment goes ahead later)');
  // What was assessed, for the record.
  assert.match(await page.locator('.facts').textContent(), /MedicationsIsotretinoin \(days since the last dose 120\)/);
  await checkAudit(page, 'on a deferral');
  await s.screenshot('defer');
  const shot = await s.screenshot('defer-answer', { element: '#answer-panel', margin: 12 });
  // The printed record is one page.
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  fs.writeFileSync(path.join(path.dirname(shot), 'defer-record.pdf'), pdf);
  assert.equal(pdfPages(pdf), 1, 'the printed consultation record is one A4 page');
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('#intake-panel').isVisible(), false, 'the form is not printed');
  assert.equal(await page.locator('.signature').isVisible(), true, 'the record has lines to sign');
  await s.screenshot('defer-print');
  await page.emulateMedia({ media: 'screen' });
  if (update) writeReadmeShot(shot);
});

kase('contraindicated', async ({ s, stack }) => {
  const page = s.page;
  await fill(page, { ...BASE, pregnant: true });
  await assessAndWait(page);
  assert.equal(await verdictLine(page), 'Contraindicated: do not treat');
  assert.match(await page.locator('#verdict').getAttribute('class'), /\bverdict-contraindicated\b/);
  await sameAsSuitCheck(s, stack);
  const sev = page.locator('.findings .severity').first();
  assert.equal(await sev.locator('h4').textContent(), 'Contraindicated');
  assert.match(await sev.locator('.finding-summary').first().textContent(), /\[pregnant\]$/);
  assert.match(await sev.textContent(), /SP SkinPen Precision labelling/);
  await checkAudit(page, 'on a contraindication');
  await s.screenshot('contraindicated');
});

kase('incomplete', async ({ s, stack }) => {
  const page = s.page;
  const { fitzpatrick, breastfeeding, ...rest } = BASE;
  await fill(page, rest);
  await assessAndWait(page);
  // Marked on the form before the answer came.
  for (const id of ['f-fitzpatrick', 'f-breastfeeding']) {
    const err = page.locator(`#${id}-error`);
    assert.equal(await err.isVisible(), true, `${id} is marked`);
    assert.match(await err.textContent(), /^Not given: needed for a verdict/);
  }
  assert.equal(await page.locator('#f-fitzpatrick').getAttribute('aria-invalid'), 'true');
  assert.equal(await verdictLine(page), 'Incomplete: facts are missing or must be confirmed (see below); no verdict yet');
  assert.match(await page.locator('#verdict').getAttribute('class'), /\bverdict-incomplete\b/);
  await sameAsSuitCheck(s, stack);
  const missing = page.locator('.missing');
  assert.equal(await missing.locator('h3').textContent(), 'Missing facts (give them for a verdict)');
  const items = await missing.locator('li').allTextContents();
  assert.deepEqual(items.sort(), ['Breastfeeding (breastfeeding)', 'Fitzpatrick skin type (fitzpatrick)']);
  // A missing fact's link takes the focus to its field.
  await missing.getByRole('link', { name: 'Fitzpatrick skin type' }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-fitzpatrick');
  // The request carried no value for them.
  const sent = JSON.parse(s.lastAssess);
  assert.equal('fitzpatrick' in sent.patient, false);
  await checkAudit(page, 'on an incomplete answer');
  await s.screenshot('incomplete');
});

kase('near_miss', async ({ s, stack }) => {
  const page = s.page;
  await fill(page, { ...BASE, medications: [{ name: 'isotretinion', days: 120 }] });
  await assessAndWait(page);
  assert.equal(await verdictLine(page), 'Incomplete: facts are missing or must be confirmed (see below); no verdict yet');
  const f = page.locator('.severity-incomplete .finding').first();
  assert.match(await f.locator('.finding-summary').textContent(), /isotretinion/);
  assert.equal(await f.locator('.suggestion strong').textContent(), 'Suggested term: isotretinoin');
  await sameAsSuitCheck(s, stack);
  // Next to the field it is about, too.
  const note = page.locator('#f-medications li.row .field-note');
  assert.match(await note.textContent(), /Did you mean isotretinoin\?/);
  await s.screenshot('near-miss');
  await checkAudit(page, 'on a near miss');
  // Taking the suggestion corrects the row and assesses again.
  await f.getByRole('button', { name: 'Use isotretinoin and assess again' }).click();
  await page.waitForFunction(() => {
    const h = document.getElementById('verdict-heading');
    return h && h.textContent.startsWith('Defer');
  });
  assert.equal(await page.locator('#f-medications li.row').getByRole('combobox').inputValue(), 'Isotretinoin');
  assert.equal(JSON.parse(s.lastAssess).patient.medications[0].name, 'isotretinoin');
  assert.equal(await note.isVisible(), false);
});

kase('unavailable', async ({ s, stack }) => {
  const page = s.page;
  await fill(page, BASE);
  await assessAndWait(page);
  assert.match(await verdictLine(page), /^Suitable/);
  await stack.stopSuitd();
  await page.getByRole('radiogroup', { name: /^Pregnant/ }).getByLabel('Yes', { exact: true }).check();
  await assessAndWait(page);
  const banner = page.getByRole('alert').filter({ hasText: 'suitd' });
  assert.equal(await banner.isVisible(), true);
  assert.match(await banner.textContent(), /suitd could not be reached while assessing the patient/);
  assert.match(await banner.textContent(), /suitd is unavailable; retry later/);
  assert.match(await banner.textContent(), /Nothing was assessed: there is no verdict\. Try again in 1 s\./);
  // Not a blank page: the form and what was typed are still there, and no
  // verdict is shown (the earlier answer, for other facts, is gone).
  assert.equal(await page.getByLabel(/^Age/).inputValue(), '35');
  assert.equal(await page.locator('#verdict-heading').count(), 0);
  assert.equal(await page.locator('#answer-placeholder').isVisible(), true);
  await checkAudit(page, 'with the banner');
  await s.screenshot('unavailable');
  // suitd back: "Try again" assesses.
  await stack.startSuitd();
  await banner.getByRole('button', { name: 'Try again' }).click();
  assert.equal(await verdictLine(page), 'Contraindicated: do not treat');
  assert.equal(await page.locator('#banner').isVisible(), false);
  s.expectErrors(/status of 503/);
});

kase('ruleset_changed', async ({ s, stack }) => {
  // suitd restarted with another ruleset (here: the same one with a
  // comment more) after the form was built: the answer says so.
  const page = s.page;
  const before = await page.locator('#ruleset-identity').textContent();
  const rules = path.join(stack.dir, 'rules');
  fs.cpSync(process.env.SUITD_RULES || path.join(SOURCE_DIR, 'rules'), rules, { recursive: true });
  fs.appendFileSync(path.join(rules, 'aftercare.clp'), '\n; changed by the ruleset_changed test\n');
  await stack.stopSuitd();
  await stack.startSuitd(rules);
  await fill(page, BASE);
  await assessAndWait(page);
  assert.match(await verdictLine(page), /^Suitable/);
  const stale = page.locator('.stale');
  assert.equal(await stale.isVisible(), true);
  const sha = (await page.locator('.ruleset-line').textContent()).match(/\(([0-9a-f]{12})\)/)[1];
  assert.ok(!before.includes(sha), `${before} vs ${sha}`);
  assert.match(await stale.textContent(), new RegExp(`reload the page to get the form of microneedling .*\\(${sha}\\)`));
  await s.screenshot('ruleset-changed');
});

kase('ruleset_unavailable', async ({ browser, stack }) => {
  // suitd away before the page loads: a banner with a way to retry, not
  // an empty page.
  await stack.stopSuitd();
  const s = await Session.open(browser, stack.url);
  await s.goto('/');
  const banner = s.page.locator('#banner');
  assert.match(await banner.textContent(), /suitd could not be reached while loading the ruleset/);
  assert.match(await banner.textContent(), /The form is built from the ruleset, so it cannot be shown yet/);
  await checkAudit(s.page, 'with the ruleset banner');
  await s.screenshot('ruleset-unavailable');
  await stack.startSuitd();
  await banner.getByRole('button', { name: 'Try again' }).click();
  await s.page.locator('#intake-panel:not([hidden])').waitFor();
  assert.equal(await s.page.locator('#banner').isVisible(), false);
  // The first load's 503 is reported by Chromium as a console error: expected here.
  s.expectErrors(/status of 503/);
  await s.finish();
});

kase('field_errors', async ({ s }) => {
  const page = s.page;
  // Checked on the page: nothing is sent.
  await fill(page, { ...BASE, age: 'thirty' });
  await page.getByRole('button', { name: 'Assess', exact: true }).click();
  const err = page.locator('#f-age-error');
  assert.equal(await err.textContent(), 'Age: expected a whole number, 0 to 150 years');
  assert.equal(await page.getByLabel(/^Age/).getAttribute('aria-invalid'), 'true');
  const summary = page.locator('#form-errors');
  assert.equal(await summary.isVisible(), true);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'form-errors');
  assert.equal(s.posts().length, 0, 'an invalid value is not sent');
  await summary.getByRole('link').first().click();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-age');
  await s.screenshot('field-error-page');
  // Refused by the gateway: the message, and the allowed values, next to
  // the field data.field names.
  await page.getByLabel(/^Age/).fill('35');
  await page.getByRole('combobox', { name: /^Treatment area/ }).fill('elbow');
  await assessAndWait(page);
  const area = page.locator('#f-area-error');
  await area.waitFor();
  const areaText = await area.textContent();
  assert.match(areaText, /^Treatment area: .*elbow/);
  assert.match(areaText, /abdomen, arms, back/);
  assert.equal(areaText.split('abdomen').length, 2, `the allowed values once: ${areaText}`);
  assert.equal(await page.getByRole('combobox', { name: /^Treatment area/ }).getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#verdict-heading').count(), 0);
  await checkAudit(page, 'with field errors');
  await s.screenshot('field-error-gateway');
  // The 400 is reported by Chromium as a console error: expected here.
  s.expectErrors(/status of 400/);
});

kase('relevance', async ({ s }) => {
  const page = s.page;
  // Synonyms find terms.
  const addMed = page.getByRole('button', { name: 'Add a medication' });
  await addMed.click();
  const med = page.locator('#f-medications li.row').last();
  await med.getByRole('combobox').fill('accutane');
  const opt = page.locator(`#${await med.getByRole('combobox').getAttribute('id')}-list [role="option"]`).first();
  assert.match(await opt.textContent(), /^Isotretinoinisotretinoin · systemic-retinoid · also: accutane$/);
  // A medication always has its days field (required for each).
  assert.equal(await med.getByLabel(/^Days since the last dose/).isVisible(), true);
  // A condition's days only for a term that takes days.
  await page.getByRole('button', { name: 'Add a condition' }).click();
  const cond = page.locator('#f-conditions li.row').last();
  const days = cond.getByLabel(/^Days since it ended or was diagnosed/);
  assert.equal(await days.isVisible(), false, 'no days field before a term is picked');
  await pickTerm(page, cond.getByRole('combobox'), 'sunb', 'sunburn');
  assert.equal(await days.isVisible(), true, 'sunburn takes days');
  await pickTerm(page, cond.getByRole('combobox'), 'cold sore', 'active-cold-sore');
  assert.equal(await days.isVisible(), false, 'a cold sore does not');
  // The needle depth only for the setting that asks for it.
  const depth = page.getByLabel(/^Needle depth/);
  assert.equal(await depth.isVisible(), false);
  const setting = page.getByRole('radiogroup', { name: /^Setting/ });
  assert.equal(await setting.getByLabel(/clinic/i).isChecked(), true, 'the default setting is picked');
  await setting.getByLabel(/Home roller/).check();
  assert.equal(await depth.isVisible(), true);
  await med.getByRole('button', { name: 'Remove medication 1' }).click();
  assert.equal(await page.locator('#f-medications li.row').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-medications-add');
  await fill(page, BASE);
  await assessAndWait(page);
  // A home roller without its depth: suitd says so (and the cold sore
  // defers, with no date to give).
  assert.equal(await verdictLine(page), 'Defer: no fixed date; come back when the reasons below have resolved');
  assert.match(await page.locator('.severity-incomplete').textContent(), /Home roller without a needle depth/);
  await depth.fill('0.25');
  await assessAndWait(page);
  const sent = JSON.parse(s.lastAssess).patient;
  assert.equal(sent.setting, 'home-roller');
  assert.equal(sent.needle_depth_mm, 0.25);
  assert.deepEqual(sent.conditions, ['active-cold-sore']);
  assert.match(await page.locator('.facts').textContent(), /ConditionsActive cold sore/);
  assert.match(await page.locator('.facts').textContent(), /Needle depth0\.25 mm/);
  await setting.getByLabel(/clinic/i).check();
  assert.equal(await depth.isVisible(), false);
  await checkAudit(page, 'on the form with rows');
  await s.screenshot('relevance');
});

kase('keyboard', async ({ s }) => {
  const page = s.page;
  const kb = page.keyboard;
  const focused = () => page.evaluate(() => document.activeElement.id);
  const tabTo = async (id, max = 40) => {
    for (let i = 0; i < max; i++) {
      if (await focused() === id) return;
      await kb.press('Tab');
    }
    throw new Error(`Tab never reached #${id} (at #${await focused()})`);
  };
  // The skip link is the first stop and leads to the form.
  await kb.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to the intake form');
  await kb.press('Enter');
  await tabTo('f-age');
  await kb.type('35');
  await kb.press('Tab');                               // pregnant: No
  assert.equal(await focused(), 'f-pregnant-0');
  await kb.press('ArrowRight');
  await kb.press('Tab');                               // breastfeeding: No
  await kb.press('ArrowRight');
  await kb.press('Tab');                               // fitzpatrick
  assert.equal(await focused(), 'f-fitzpatrick');
  await kb.press('ArrowDown');
  await kb.press('ArrowDown');
  await kb.press('Tab');                               // area: search, then pick
  assert.equal(await focused(), 'f-area');
  await kb.type('chee');
  await kb.press('ArrowDown');
  await kb.press('Enter');
  await kb.press('Tab');
  await kb.type('acne');
  await kb.press('ArrowDown');
  await kb.press('Enter');
  await tabTo('f-medications-add');
  await kb.press('Enter');                             // a new row, focused
  await kb.type('roacc');                              // a synonym of isotretinoin
  await kb.press('ArrowDown');
  await kb.press('Enter');
  await kb.press('Tab');
  await kb.type('120');
  await kb.press('Enter');                             // submits the form
  const line = await verdictLine(page);
  assert.match(line, /^Defer: come back in 60 days/);
  const sent = JSON.parse(s.lastAssess).patient;
  assert.deepEqual(sent, { ...BASE, setting: 'clinic', medications: [{ name: 'isotretinoin', days_since_last_dose: 120 }] });
  // The focus went to the verdict; the explain toggle is reachable.
  assert.equal(await focused(), 'verdict-heading');
  await tabTo('explain', 200);
  await kb.press('Space');
  assert.equal(await page.locator('#trace').isVisible(), true);
  // The focus is always visible: the focused control has an outline.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await s.screenshot('keyboard');
});

kase('narrow', async ({ browser, stack }) => {
  const s = await Session.open(browser, stack.url, { viewport: { width: 360, height: 740 } });
  await s.goto('/');
  await s.screenshot('narrow-top', { fullPage: false });
  await fill(s.page, { ...BASE, medications: [{ name: 'isotr', pick: 'isotretinoin', days: 120 }] });
  await s.screenshot('narrow-row', { element: '#f-medications' });
  await assessAndWait(s.page);
  assert.match(await verdictLine(s.page), /^Defer/);
  await s.screenshot('narrow-answer', { fullPage: false });
  const over = await s.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(over <= 0, `the page is ${over}px wider than a 360px window`);
  await checkAudit(s.page, 'in a narrow window');
  await s.screenshot('narrow');
  await s.finish();
});

kase('csp', async ({ s }) => {
  const page = s.page;
  const doc = s.document;
  const csp = doc.headers()['content-security-policy'];
  assert.ok(csp && csp.includes("default-src 'self'"), `CSP: ${csp}`);
  assert.match(csp, /form-action 'none'/);
  assert.equal(doc.headers()['x-content-type-options'], 'nosniff');
  assert.equal(doc.headers()['set-cookie'], undefined);
  // The policy is enforced: an injected inline script does not run, and
  // the browser reports the violation.
  const result = await page.evaluate(() => new Promise((resolve) => {
    window.cspRan = false;
    document.addEventListener('securitypolicyviolation', (e) => resolve({ ran: window.cspRan, directive: e.violatedDirective }), { once: true });
    const sc = document.createElement('script');
    sc.textContent = 'window.cspRan = true';
    document.body.append(sc);
    setTimeout(() => resolve({ ran: window.cspRan, directive: null }), 2000);
  }));
  assert.equal(result.ran, false, 'an inline script ran');
  assert.match(String(result.directive), /script-src/);
  s.expectErrors(/Content Security Policy/);
  // Every file the page loaded came with the policy and its own type.
  const types = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
  for (const r of s.responses) {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/ui/')) continue;
    assert.equal(r.headers()['content-security-policy'], csp, u.pathname);
    assert.equal(r.headers()['content-type'], types[path.extname(u.pathname)], u.pathname);
  }
  assert.ok(s.responses.some((r) => r.url().endsWith('/ui/app.js')), 'app.js was loaded');
  // A full use of the page stays on its origin (checked after every case).
  await fill(page, BASE);
  await assessAndWait(page);
  assert.match(await verdictLine(page), /^Suitable/);
  const sources = new Set(s.requests.map((r) => new URL(r.url).pathname));
  for (const p of ['/', '/ui/app.js', '/ui/style.css', '/v1/ruleset', '/v1/assess']) assert.ok(sources.has(p), `${p} requested`);
});

kase('token', async ({ browser, stack }) => {
  const s = await Session.open(browser, stack.url);
  await s.goto('/');
  const page = s.page;
  assert.equal(await page.locator('#token-panel').isVisible(), true);
  assert.match(await page.locator('#banner').textContent(), /This gateway needs a token/);
  await page.getByLabel('Token', { exact: true }).fill('wrong-token-value');
  await page.getByRole('button', { name: 'Use the token' }).click();
  await page.locator('#token-panel:not([hidden])').waitFor();
  assert.match(await page.locator('#banner').textContent(), /The gateway refused the token/);
  await page.getByLabel('Token', { exact: true }).fill(TOKEN);
  await page.getByRole('button', { name: 'Use the token' }).click();
  await page.locator('#intake-panel:not([hidden])').waitFor();
  await fill(page, BASE);
  await assessAndWait(page);
  assert.match(await verdictLine(page), /^Suitable/);
  assert.equal(s.assessAuth, `Bearer ${TOKEN}`);
  await checkAudit(page, 'with a token');
  s.expectErrors(/status of 401/);
  await s.finish();
});
const TOKEN = 'ui-test-token-of-some-length';

// Per-case stack settings.
const SETUP = {
  token: (dir) => {
    const f = path.join(dir, 'http.token');
    fs.writeFileSync(f, `${TOKEN}\n`);
    return { httpdArgs: ['--token-file', f] };
  },
};

// ---- README's screenshot ----------------------------------------------------------

// Writes the deferral's answer as docs/ui-defer.png, in 256 colours
// (pngquant: a screenshot of text loses nothing visible, and the file
// shrinks to a fraction).
function writeReadmeShot(shot) {
  fs.mkdirSync(path.dirname(README_SHOT), { recursive: true });
  const q = spawnSync('pngquant', ['--force', '--quality=70-90', '--speed=1', '--strip', '--output', README_SHOT, shot]);
  if (q.error || q.status !== 0) {
    throw new Error(`pngquant failed (${q.error ? q.error.message : q.stderr}); install it (packaging/install-deps.sh) to regenerate ${README_SHOT}`);
  }
  const n = fs.statSync(README_SHOT).size;
  console.log(`  wrote ${path.relative(SOURCE_DIR, README_SHOT)} (${n} bytes)`);
}

// README's screenshot is there, a PNG, small, and shown by README.
function checkReadmeShot() {
  const buf = fs.readFileSync(README_SHOT);
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'docs/ui-defer.png is a PNG');
  assert.ok(buf.length < README_SHOT_MAX, `docs/ui-defer.png is ${buf.length} bytes (limit ${README_SHOT_MAX})`);
  const readme = fs.readFileSync(path.join(SOURCE_DIR, 'README.md'), 'utf8');
  assert.match(readme, /!\[[^\]]+\]\(docs\/ui-defer\.png\)/, 'README shows docs/ui-defer.png');
}

// ---- the runner ------------------------------------------------------------------

// Cases that open their own page (another window size, or before the
// gateway is ready to build the form).
const OWN_SESSION = new Set(['ruleset_unavailable', 'narrow', 'token']);

async function runCase(name, browser) {
  const stack = new Stack();
  if (SETUP[name]) Object.assign(stack.opts, SETUP[name](stack.dir));
  try {
    await stack.start();
    const update = process.env.SUIT_UPDATE_DOCS === '1';
    if (OWN_SESSION.has(name)) {
      await CASES[name]({ stack, browser, update });
    } else {
      const s = await Session.open(browser, stack.url);
      await s.goto('/');
      await CASES[name]({ s, stack, browser, update });
      await checkAudit(s.page, 'at the end');
      await s.finish();
    }
  } catch (e) {
    console.log(stack.abandon());
    throw e;
  }
  await stack.close();
}

async function main() {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : [...Object.keys(CASES), 'readme_screenshot'];
  let failures = 0;
  let checks = 0;
  let browser = null;
  try {
    for (const name of names) {
      checks++;
      const t0 = Date.now();
      try {
        if (name === 'readme_screenshot') {
          checkReadmeShot();
        } else if (!CASES[name]) {
          throw new Error(`no case ${name}; cases: ${Object.keys(CASES).join(', ')}, readme_screenshot`);
        } else {
          browser = browser || await launch();
          await runCase(name, browser);
        }
        console.log(`ok ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failures++;
        console.log(`FAIL ${name}: ${e.stack || e}`);
      }
    }
  } finally {
    if (browser) await browser.close();
  }
  const pct = Math.round((100 * (checks - failures)) / checks);
  console.log(`${pct}%: Checks: ${checks}, Failures: ${failures}, Errors: 0`);
  process.exit(failures ? 1 : 0);
}

main();
