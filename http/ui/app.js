// app.js: the consultation page.  Loads the ruleset, builds the intake
// form from it (form.js), sends the patient to POST /v1/assess (api.js)
// and shows the answer (answer.js); every failure ends up next to its
// field or in the banner, never as a blank page.
//
// Nothing is kept anywhere but in this page's memory: no cookie, no
// storage, no history entry with patient facts (the form is never
// submitted as a URL; the CSP's form-action 'none' holds that too).

import { GatewayError, assess, getRuleset, hasToken, setToken } from './api.js';
import { renderAnswer } from './answer.js';
import { el } from './dom.js';
import { IntakeForm } from './form.js';

const $ = (id) => document.getElementById(id);

const state = {
  ruleset: null,
  form: null,
  busy: false,
  last: null,        // the patient of the answer shown
};

// ---- the banner ------------------------------------------------------------

function showBanner(title, message, opts = {}) {
  const b = $('banner');
  const parts = [el('p', { class: 'banner-title' }, title)];
  if (message) parts.push(el('p', { class: 'banner-message' }, message));
  if (opts.more) parts.push(el('p', { class: 'banner-more' }, opts.more));
  if (opts.retry) {
    const btn = el('button', { type: 'button', class: 'banner-retry' }, opts.retryLabel || 'Try again');
    btn.addEventListener('click', () => {
      hideBanner();
      opts.retry();
    });
    parts.push(btn);
  }
  b.replaceChildren(...parts);
  b.className = `banner banner-${opts.kind || 'error'}`;
  b.hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
  $('banner').replaceChildren();
}

// What to tell a person about a failed call: what went wrong while doing
// `action`, and what that means (`consequence`).
function explainFailure(err, action, consequence) {
  if (!(err instanceof GatewayError)) {
    return { title: `The page failed while ${action}`, message: String((err && err.message) || err), more: consequence };
  }
  const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : '';
  switch (err.status) {
    case 0:
      return { title: `No answer while ${action}`, message: err.message, more: consequence };
    case 503:
      return { title: `suitd could not be reached while ${action}`, message: err.message, more: consequence + wait };
    case 504:
      return { title: `suitd did not answer in time while ${action}`, message: err.message, more: consequence };
    default:
      return {
        title: `The gateway refused the request while ${action} (${err.status})`,
        message: err.message,
        more: [err.details.length ? `Allowed: ${err.details.join(', ')}.` : '', consequence].filter(Boolean).join(' '),
      };
  }
}

// ---- the token ---------------------------------------------------------------

function askToken(then) {
  const panel = $('token-panel');
  panel.hidden = false;
  const input = $('token-input');
  $('token-form').onsubmit = (e) => {
    e.preventDefault();
    const t = input.value.trim();
    if (!t) {
      input.focus();
      return;
    }
    setToken(t);
    input.value = '';
    panel.hidden = true;
    then();
  };
  input.focus();
}

// ---- loading the ruleset -----------------------------------------------------

async function load() {
  $('ruleset-identity').textContent = 'Loading the ruleset…';
  let rs;
  try {
    rs = await getRuleset();
  } catch (err) {
    $('ruleset-identity').textContent = 'No ruleset loaded';
    if (err instanceof GatewayError && err.status === 401) {
      showBanner(hasToken() ? 'The gateway refused the token' : 'This gateway needs a token',
        err.message, { kind: 'warn' });
      askToken(load);
      return;
    }
    const f = explainFailure(err, 'loading the ruleset', 'The form is built from the ruleset, so it cannot be shown yet.');
    showBanner(f.title, f.message, { more: f.more, retry: load });
    return;
  }
  hideBanner();
  state.ruleset = rs;
  state.form = new IntakeForm(rs);
  $('fields').replaceChildren(state.form.root);
  $('ruleset-identity').textContent =
    `Ruleset ${rs.name} ${rs.version} (${String(rs.sha256 || '').slice(0, 12)}), ${rs.rule_count} rules`;
  $('intake-panel').hidden = false;
  $('answer-panel').hidden = false;
}

// The answer part shows either the placeholder or an answer with its tools.
function showAnswerPart(body) {
  $('answer').replaceChildren(...(body ? [body] : []));
  $('answer-placeholder').hidden = !!body;
  $('answer-tools').hidden = !body;
  $('signature').hidden = !body;
  $('answer-changed').hidden = true;
}

// Facts edited after an answer: the answer is for the facts as they were.
function formChanged() {
  if ($('answer').childElementCount && $('answer-changed').hidden) $('answer-changed').hidden = false;
}

// ---- assessing -----------------------------------------------------------------

function showFormErrors(items) {
  const box = $('form-errors');
  if (!items.length) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    el('p', { class: 'form-errors-title' },
      items.length === 1 ? 'Correct this value before assessing:' : `Correct these ${items.length} values before assessing:`),
    el('ul', {}, items.map((it) => {
      const a = el('a', { href: `#${it.slot.focusTarget().id}` }, it.message);
      a.addEventListener('click', (e) => {
        e.preventDefault();
        it.slot.focusTarget().focus();
      });
      return el('li', {}, a);
    })));
  box.hidden = false;
  box.focus();
}

function setBusy(busy) {
  state.busy = busy;
  const b = $('assess');
  b.disabled = busy;
  b.textContent = busy ? 'Assessing…' : 'Assess';
  $('answer-panel').setAttribute('aria-busy', String(busy));
}

async function submit() {
  if (state.busy || !state.form) return;
  const form = state.form;
  hideBanner();
  form.clearMessages();
  showFormErrors([]);
  // An earlier answer must not stay next to a failure or new facts, where
  // it could be read as theirs.
  showAnswerPart(null);
  const { patient, errors, missing } = form.collect();
  for (const e of errors) e.slot.setMessage(e.message, 'error');
  if (errors.length) {
    showFormErrors(errors);
    return;
  }
  // Not an error: suitd answers incomplete and lists them.  Marked here so
  // the person sees where before reading the answer.
  for (const m of missing) m.slot.setMessage('Not given: needed for a verdict (the answer stays incomplete)', 'missing');
  setBusy(true);
  let res;
  try {
    res = await assess(patient, true);
  } catch (err) {
    setBusy(false);
    failed(err);
    return;
  }
  setBusy(false);
  state.last = patient;
  showAnswer(res, patient);
}

function failed(err) {
  const form = state.form;
  if (err instanceof GatewayError && err.status === 401) {
    showBanner(hasToken() ? 'The gateway refused the token' : 'This gateway needs a token', err.message, { kind: 'warn' });
    askToken(submit);
    return;
  }
  const slot = err instanceof GatewayError && err.status === 400 ? form.slotFor(err.field) : null;
  if (slot) {
    // suitd's message starts with the path it names ("area: ..."): the
    // field's label says it here.  The allowed values are added unless the
    // message lists them already.
    let text = err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
    const d = err.details;
    if (d.length && !(text.includes(d[0]) && text.includes(d[d.length - 1]))) text += `; allowed: ${d.join(', ')}`;
    const message = `${slot.labelText}: ${text}`;
    slot.setMessage(message, 'error');
    showFormErrors([{ slot, message }]);
    return;
  }
  const f = explainFailure(err, 'assessing the patient', 'Nothing was assessed: there is no verdict.');
  showBanner(f.title, f.message, { more: f.more, retry: submit });
  $('banner').querySelector('button')?.focus();
}

function showAnswer(res, patient) {
  const form = state.form;
  const used = new Set();
  const body = renderAnswer(res, {
    now: new Date(),
    ruleset: state.ruleset,
    sources: state.ruleset.sources || {},
    explain: $('explain').checked,
    facts: form.describe(patient),
    labelOf: (key) => {
      const slot = form.slotOfKey(key);
      return slot ? slot.labelText : key;
    },
    onMissing: (key) => {
      const slot = form.slotOfKey(key);
      return slot ? () => slot.focusTarget().focus() : null;
    },
    onSuggestion: (term) => {
      const hit = form.rowForSuggestion(term, used);
      if (!hit) return null;
      const fix = () => {
        form.useTerm(hit.row, term);
        submit();
      };
      // The same offer next to the field it is about.
      const slot = hit.row.name;
      const b = el('button', { type: 'button', class: 'use-suggestion' }, `Use ${term}`);
      b.addEventListener('click', () => {
        form.useTerm(hit.row, term);
        formChanged();
        slot.control.focus();
      });
      slot.note.replaceChildren(el('span', {}, `Not recognised. Did you mean ${term}? `), b);
      slot.note.hidden = false;
      return fix;
    },
  });
  showAnswerPart(body);
  $('verdict-heading').focus();
}

// ---- wiring ------------------------------------------------------------------

function wire() {
  $('intake').addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  $('intake').addEventListener('input', formChanged);
  $('intake').addEventListener('change', formChanged);
  $('new-patient').addEventListener('click', () => {
    if (!state.form) return;
    state.form.reset();
    state.form.clearMessages();
    showFormErrors([]);
    hideBanner();
    showAnswerPart(null);
    state.last = null;
    $('intake-title').focus();
  });
  $('explain').addEventListener('change', () => {
    const t = $('trace');
    if (t) t.hidden = !$('explain').checked;
  });
  $('print').addEventListener('click', () => window.print());
}

wire();
load();
