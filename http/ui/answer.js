// answer.js: an assessment as a page section, in the order and words of
// `suit check --explain` (client/report.c): the verdict, the findings by
// severity (reason, action, sources as full citations), the side effects,
// the course plan, aftercare, the missing facts, the rules fired, the
// ruleset, and that the decision stays with the clinician.

import { el } from './dom.js';
import {
  CLINICIAN, SEVERITIES, SIDE_EFFECT_KINDS, VERDICTS, range, usd, verdictText, dateAfter,
} from './words.js';

const LONG_DATE = new Intl.DateTimeFormat('en-GB', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
});

function str(v) {
  return typeof v === 'string' ? v : '';
}

function int(v) {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null;
}

function section(cls, title, ...body) {
  return el('section', { class: `answer-part ${cls}` }, el('h3', {}, title), body);
}

// "SP, clinic" -> the citations of SP and clinic, weak evidence marked.
function sources(text, cited) {
  const keys = str(text).split(',').map((s) => s.trim()).filter(Boolean);
  return el('ul', { class: 'sources' }, keys.map((k) => {
    const s = cited && Object.prototype.hasOwnProperty.call(cited, k) ? cited[k] : null;
    return el('li', {},
      el('span', { class: 'source-key' }, k),
      s && s.citation ? ` ${s.citation}` : ' (not in the ruleset\'s sources)',
      // Marked unless the citation says so itself.
      s && s.weak && !/weak evidence/i.test(str(s.citation)) ? el('span', { class: 'weak' }, ' (weak evidence)') : null);
  }));
}

function finding(f, ctx) {
  const summary = str(f.summary) || str(f.id);
  const li = el('li', { class: `finding sev-${str(f.severity) || 'unknown'}` },
    el('p', { class: 'finding-summary' }, summary,
      f.id ? el('span', { class: 'finding-id' }, ` [${f.id}]`) : null));
  const suggestion = str(f.suggestion);
  if (suggestion) {
    const p = el('p', { class: 'suggestion' },
      el('strong', {}, `Suggested term: ${suggestion}`),
      ' (correct the term and check again; if it is right as sent, check it by hand)');
    const fix = ctx.onSuggestion && ctx.onSuggestion(suggestion);
    if (fix) {
      const b = el('button', { type: 'button', class: 'use-suggestion' }, `Use ${suggestion} and assess again`);
      b.addEventListener('click', fix);
      p.append(' ', b);
    }
    li.append(p);
  }
  if (str(f.detail)) li.append(el('p', { class: 'finding-detail' }, f.detail));
  if (str(f.action)) li.append(el('p', { class: 'finding-action' }, el('strong', {}, 'Action: '), f.action));
  const days = int(f.defer_days);
  if (days !== null && str(f.severity) === 'defer') {
    li.append(el('p', { class: 'finding-days' }, `Wait ${days} day${days === 1 ? '' : 's'}`));
  }
  if (str(f.source)) {
    li.append(el('div', { class: 'finding-sources' }, el('strong', {}, 'Sources:'), sources(f.source, ctx.sources)));
  }
  return li;
}

function findings(list, ctx) {
  const box = section('findings', 'Findings');
  if (!Array.isArray(list) || !list.length) {
    box.append(el('p', {}, 'none'));
    return box;
  }
  const known = new Set(SEVERITIES.map((s) => s.name));
  for (const sev of SEVERITIES) {
    const here = list.filter((f) => f && f.severity === sev.name);
    if (!here.length) continue;
    box.append(el('section', { class: `severity severity-${sev.name}` },
      el('h4', {}, sev.label),
      el('ul', { class: 'finding-list' }, here.map((f) => finding(f, ctx)))));
  }
  // A severity this page does not know (a newer ruleset) still shows.
  const other = list.filter((f) => !f || !known.has(f.severity));
  if (other.length) {
    box.append(el('section', { class: 'severity severity-other' },
      el('h4', {}, 'Other'),
      el('ul', { class: 'finding-list' }, other.map((f) => finding(f || {}, ctx)))));
  }
  return box;
}

function sideEffects(list) {
  if (!Array.isArray(list) || !list.length) return null;
  const box = section('side-effects', 'Side effects for this patient');
  const item = (e) => el('li', {}, str(e.effect),
    str(e.likelihood) ? ` (${e.likelihood})` : '',
    str(e.note) ? `: ${e.note}` : '');
  for (const k of SIDE_EFFECT_KINDS) {
    const here = list.filter((e) => e && e.kind === k.kind);
    if (here.length) box.append(el('h4', {}, k.label), el('ul', {}, here.map(item)));
  }
  const other = list.filter((e) => e && !SIDE_EFFECT_KINDS.some((k) => k.kind === e.kind));
  if (other.length) {
    box.append(el('ul', {}, other.map((e) => el('li', {}, `${str(e.effect)} (${str(e.kind)})`))));
  }
  return box;
}

function plan(p, verdict) {
  const now = verdict === 'suitable' || verdict === 'suitable-with-precautions';
  const box = section('plan', now ? 'Course plan' : 'Course plan (if treatment goes ahead later)');
  if (!p || typeof p !== 'object') {
    box.append(el('p', {}, 'none: no course is planned with this verdict'));
    return box;
  }
  const dl = el('dl', { class: 'plan-list' });
  const smin = int(p.sessions_min);
  if (smin !== null) {
    const smax = int(p.sessions_max) ?? smin;
    let text = range(smin, smax, '');
    const iw = int(p.interval_weeks);
    if (iw !== null) {
      let iwmax = int(p.interval_weeks_max);
      if (iwmax === null || iwmax < iw) iwmax = iw;
      text += `, every ${range(iw, iwmax, iwmax === 1 ? ' week' : ' weeks')}`;
    }
    dl.append(el('dt', {}, 'Sessions'), el('dd', {}, text));
  }
  const cps = p.cost_per_session_usd || {};
  if (int(cps.min) !== null && int(cps.max) !== null) {
    let text = `${usd(cps.min)} to ${usd(cps.max)}`;
    if (int(cps.typical) !== null) text += ` (typical ${usd(cps.typical)})`;
    dl.append(el('dt', {}, 'Cost per session'), el('dd', {}, text));
  }
  const course = p.course_cost_usd || {};
  if (int(course.min) !== null && int(course.max) !== null) {
    dl.append(el('dt', {}, 'Course total'), el('dd', {}, `${usd(course.min)} to ${usd(course.max)}`));
  }
  box.append(dl);
  return box;
}

function aftercare(list) {
  if (!Array.isArray(list) || !list.length) return null;
  return section('aftercare', 'Aftercare', el('ol', {}, list.map((s) => el('li', {}, str(s)))));
}

function missing(list, ctx) {
  if (!Array.isArray(list) || !list.length) return null;
  return section('missing', 'Missing facts (give them for a verdict)',
    el('ul', {}, list.map((key) => {
      const focus = ctx.onMissing && ctx.onMissing(str(key));
      if (!focus) return el('li', {}, str(key));
      const a = el('a', { href: `#f-${key}`, class: 'missing-link' }, ctx.labelOf(str(key)));
      a.addEventListener('click', (e) => {
        e.preventDefault();
        focus();
      });
      return el('li', {}, a, el('span', { class: 'missing-key' }, ` (${key})`));
    })));
}

function trace(list, shown) {
  const box = section('trace', 'Rules fired, in order');
  box.id = 'trace';
  box.hidden = !shown;
  if (Array.isArray(list) && list.length) box.append(el('ol', {}, list.map((r) => el('li', {}, str(r)))));
  else box.append(el('p', {}, '(the daemon returned no trace)'));
  return box;
}

function facts(described) {
  if (!described.length) return null;
  return section('facts', 'Facts assessed',
    el('dl', { class: 'facts-list' }, described.map((d) => [el('dt', {}, d.label), el('dd', {}, d.text)])));
}

// The verdict banner: the label and its text, as suit check's first line.
function banner(res, now) {
  const verdict = str(res.verdict);
  const v = VERDICTS.find((x) => x.name === verdict);
  const text = verdictText(verdict, int(res.defer_days), now);
  const heading = el('h2', { id: 'verdict-heading', tabindex: '-1' },
    el('span', { class: 'verdict-label' }, v ? v.label : `Verdict: ${verdict}`),
    text ? `: ${text}` : '');
  const box = el('div', { class: `verdict verdict-${verdict}`, id: 'verdict', 'data-verdict': verdict }, heading);
  if (verdict === 'defer') {
    const days = int(res.defer_days);
    const date = dateAfter(now, days);
    if (date) {
      const [y, m, d] = date.split('-').map(Number);
      box.append(el('p', { class: 'return-date' }, 'Return date: ',
        el('time', { datetime: date }, LONG_DATE.format(new Date(y, m - 1, d, 12)))));
    }
  }
  return box;
}

// Renders res into a fresh element.  ctx: {now, ruleset (the form's),
// sources, explain, facts: [{label, text}], labelOf(key),
// onSuggestion(term) -> click handler or null, onMissing(key) -> focus
// function or null}.
export function renderAnswer(res, ctx) {
  const verdict = str(res.verdict);
  const rs = res.ruleset || {};
  const sha = str(rs.sha256);
  const parts = [
    banner(res, ctx.now),
    findings(res.findings, ctx),
    sideEffects(res.side_effects),
    plan(res.plan, verdict),
    aftercare(res.aftercare),
    missing(res.missing, ctx),
    facts(ctx.facts || []),
    trace(res.trace, ctx.explain),
  ];
  const formSha = ctx.ruleset && str(ctx.ruleset.sha256);
  const stale = formSha && sha && formSha !== sha
    ? el('p', { class: 'stale' }, 'The ruleset changed since this form was built: reload the page to get the form of ',
      `${str(rs.name)} ${str(rs.version)} (${sha.slice(0, 12)}).`)
    : null;
  const stamp = ctx.now.toLocaleString('en-GB', {
    day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit',
  });
  const foot = el('footer', { class: 'answer-foot' },
    el('p', { class: 'ruleset-line' },
      `Ruleset: ${str(rs.name)} ${str(rs.version)} (${sha ? sha.slice(0, 12) : 'no hash'})`),
    res.policy
      ? el('p', { class: 'policy-line' },
        `Policy: ${str(res.policy.name)} (${str(res.policy.sha256).slice(0, 12)})`)
      : null,
    el('p', { class: 'assessed-at' }, `Assessed ${stamp}`),
    el('p', { class: 'clinician' }, CLINICIAN));
  return el('div', { class: 'answer-body' }, stale, parts, foot);
}
