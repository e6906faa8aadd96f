// form.js: the intake form, built from GET /v1/ruleset.
//
// The ruleset says what a patient is: `fields` (type, required, unit,
// min, max, vocabulary, default, and for lists the fields of an item),
// `terms` (each vocabulary's terms with label, class, takes_days and
// synonyms).  This file adds only how to lay them out (GROUPS, LABELS);
// a field this table does not name still appears, under "Other facts".
//
// What is shown depends on what is picked, from the ruleset too:
//  - a days field of a list item that is not required (a condition's
//    days_ago) only for a term that takes days (sunburn, recent-scar);
//  - a field that a term's label names (the home roller's "give
//    needle_depth_mm") only while that term is picked.
// A hidden field is not sent.
//
// collect() reads the form into a patient as PROTOCOL.md 4.2 has it and
// says which values are wrong (not sent: fixed here first) and which
// required facts are empty (sent: suitd answers incomplete, and lists them).

import { el, capital } from './dom.js';
import { Picker } from './picker.js';
import { normalise } from './words.js';

const GROUPS = [
  { title: 'Patient', keys: ['age', 'pregnant', 'breastfeeding', 'fitzpatrick'] },
  { title: 'Treatment', keys: ['area', 'indication', 'setting', 'needle_depth_mm'] },
  { title: 'History', keys: ['conditions', 'medications', 'procedures', 'allergies'] },
];

const LABELS = {
  age: 'Age',
  fitzpatrick: 'Fitzpatrick skin type',
  area: 'Treatment area',
  needle_depth_mm: 'Needle depth',
};

// A vocabulary this small is a row of radio buttons rather than a list.
const RADIO_MAX = 4;
// A whole number with this few values and no unit is a choice of them.
const SELECT_MAX = 10;

function labelOf(key) {
  return LABELS[key] || capital(key.replace(/_/g, ' '));
}

// A list item's field is labelled by its description, up to a
// parenthesis or a semicolon; the rest is its hint: "days since the last
// dose (0 = taking it now)" is "Days since the last dose", hint "0 =
// taking it now".
function splitDescription(d) {
  const m = String(d || '').match(/^([^(;]*?)\s*(?:\(([^)]*)\)\s*;?\s*|;\s*)(.*)$/);
  if (!m) return { label: capital(d), hint: '' };
  return { label: capital(m[1]), hint: [m[2], m[3]].filter(Boolean).join('; ') };
}

// "0 to 150 years", "more than 0, at most 10 mm".
function rangeText(f) {
  const unit = f.unit ? ` ${f.unit}` : '';
  if (f.min == null && f.max == null) return f.unit ? `in ${f.unit}` : '';
  if (f.min != null && f.max != null) {
    return f.min_exclusive ? `more than ${f.min}, at most ${f.max}${unit}`
      : `${f.min} to ${f.max}${unit}`;
  }
  if (f.min != null) return `${f.min_exclusive ? 'more than' : 'at least'} ${f.min}${unit}`;
  return `at most ${f.max}${unit}`;
}

function isNumeric(f) {
  return f.type === 'integer' || f.type === 'number';
}

// The noun of a list's item, from its description: "a medication:
// {name, ...}" gives "a medication".
function itemNoun(f) {
  const d = (f.items && f.items.description) || '';
  const noun = d.split(':')[0].trim();
  return noun || 'an entry';
}

// Checks a number typed for f.  Returns {value} or {error}.
function parseNumber(text, f) {
  const s = text.trim();
  const re = f.type === 'integer' ? /^-?\d+$/ : /^-?(\d+(\.\d*)?|\.\d+)$/;
  const what = f.type === 'integer' ? 'a whole number' : 'a number';
  const range = rangeText(f);
  const expect = `expected ${what}${range && (f.min != null || f.max != null) ? `, ${range}` : ''}`;
  if (!re.test(s)) return { error: expect };
  const v = Number(s);
  if (!Number.isFinite(v)) return { error: expect };
  if (f.min != null && (f.min_exclusive ? v <= f.min : v < f.min)) return { error: expect };
  if (f.max != null && v > f.max) return { error: expect };
  return { value: v };
}

function utf8Length(s) {
  return new TextEncoder().encode(s).length;
}

function levenshtein(a, b) {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

// One control with its label, hint, and places for a message.
class Slot {
  constructor(id, labelText, required, hintText) {
    this.id = id;
    this.error = el('p', { class: 'field-error', id: `${id}-error`, hidden: true });
    this.hint = hintText ? el('p', { class: 'hint', id: `${id}-hint` }, hintText) : null;
    this.labelText = labelText;
    this.required = required;
  }

  describedBy() {
    return [this.hint && this.hint.id, `${this.id}-error`].filter(Boolean).join(' ');
  }

  labelNodes() {
    return [this.labelText, this.required ? el('span', { class: 'req' }, ' (required)') : null];
  }

  // The element that gets the focus for this slot.
  focusTarget() {
    return this.control;
  }

  setMessage(text, kind) {
    this.clearMessage();
    this.error.textContent = text;
    this.error.hidden = false;
    this.error.classList.toggle('is-missing', kind === 'missing');
    this.wrap.classList.add(kind === 'missing' ? 'has-missing' : 'has-error');
    for (const c of this.controls()) c.setAttribute('aria-invalid', 'true');
  }

  clearMessage() {
    this.error.hidden = true;
    this.error.textContent = '';
    this.wrap.classList.remove('has-error', 'has-missing');
    for (const c of this.controls()) c.removeAttribute('aria-invalid');
  }

  controls() {
    return [this.control];
  }
}

// A text or number input, or a select.
class InputSlot extends Slot {
  constructor(id, f, labelText, hintText, opts = {}) {
    super(id, labelText, !!f.required && !opts.optionalHere, hintText);
    this.f = f;
    if (isNumeric(f) && f.type === 'integer' && f.min != null && f.max != null && !f.unit &&
        f.max - f.min < SELECT_MAX) {
      this.control = el('select', { id, 'aria-describedby': this.describedBy() },
        el('option', { value: '' }, '(not given)'));
      for (let v = f.min; v <= f.max; v++) this.control.append(el('option', { value: String(v) }, String(v)));
    } else {
      this.control = el('input', {
        id,
        type: 'text',
        inputmode: isNumeric(f) ? (f.type === 'integer' ? 'numeric' : 'decimal') : null,
        autocomplete: 'off',
        class: isNumeric(f) ? 'num' : null,
        'aria-describedby': this.describedBy(),
      });
    }
    if (this.required) this.control.setAttribute('aria-required', 'true');
    const unit = f.unit ? el('span', { class: 'unit', 'aria-hidden': 'true' }, f.unit) : null;
    this.wrap = el('div', { class: 'field' },
      el('label', { for: id }, this.labelNodes()),
      this.hint,
      el('div', { class: 'control-line' }, this.control, unit),
      this.error);
  }

  get raw() {
    return this.control.value;
  }

  reset() {
    this.control.value = '';
  }
}

// Yes / No, or a vocabulary of a few terms: radio buttons in a fieldset.
class RadioSlot extends Slot {
  constructor(id, f, labelText, hintText, choices, onChange) {
    super(id, labelText, !!f.required, hintText);
    this.f = f;
    this.def = f.default === null || f.default === undefined ? null : String(f.default);
    this.radios = choices.map((c, i) => {
      const r = el('input', { type: 'radio', id: `${id}-${i}`, name: id, value: c.value });
      r.addEventListener('change', () => onChange && onChange());
      return { input: r, label: el('label', { for: `${id}-${i}` }, c.label), value: c.value };
    });
    this.wrap = el('fieldset', {
      class: 'field radios',
      id,
      role: 'radiogroup',
      'aria-describedby': this.describedBy(),
      'aria-required': this.required ? 'true' : null,
    },
    el('legend', {}, this.labelNodes()),
    this.hint,
    el('div', { class: 'radio-row' }, this.radios.map((r) => el('span', { class: 'radio' }, r.input, r.label))),
    this.error);
    this.reset();
  }

  controls() {
    return this.radios.map((r) => r.input);
  }

  focusTarget() {
    return (this.radios.find((r) => r.input.checked) || this.radios[0]).input;
  }

  get raw() {
    const r = this.radios.find((x) => x.input.checked);
    return r ? r.value : '';
  }

  set(value) {
    for (const r of this.radios) r.input.checked = r.value === value;
  }

  reset() {
    this.set(this.def);
  }
}

// A term from a vocabulary, with search.
class PickerSlot extends Slot {
  constructor(id, f, labelText, hintText, terms, onChange, opts = {}) {
    super(id, labelText, !!f.required && !opts.optionalHere, hintText);
    this.f = f;
    this.picker = new Picker(terms, {
      id,
      describedBy: this.describedBy(),
      listLabel: opts.listLabel || labelText,
      onChange: (t) => onChange && onChange(t),
    });
    this.control = this.picker.input;
    if (this.required) this.control.setAttribute('aria-required', 'true');
    this.note = el('div', { class: 'field-note', hidden: true });
    this.wrap = el('div', { class: 'field' },
      el('label', { for: id }, this.labelNodes()),
      this.hint,
      this.picker.root,
      this.note,
      this.error);
  }

  get raw() {
    return this.picker.value;
  }

  get term() {
    return this.picker.term;
  }

  reset() {
    this.picker.set('');
    this.clearNote();
  }

  clearNote() {
    this.note.hidden = true;
    this.note.replaceChildren();
  }
}

// A list (conditions, medications, ...): rows of a term and, for maps,
// its other fields.
class ListEditor {
  constructor(key, f, form) {
    this.key = key;
    this.f = f;
    this.form = form;
    this.rows = [];
    this.seq = 0;
    this.noun = itemNoun(f);
    const item = f.items || {};
    this.isMap = item.type === 'map';
    this.nameField = this.isMap ? item.fields.name : item;
    this.terms = form.termsOf(this.nameField.vocabulary);
    this.list = el('ul', { class: 'rows' });
    this.addButton = el('button', { type: 'button', class: 'add', id: `f-${key}-add` }, `Add ${this.noun}`);
    this.addButton.addEventListener('click', () => {
      const row = this.add();
      row.name.control.focus();
    });
    const hintId = `f-${key}-hint`;
    this.wrap = el('fieldset', { class: 'field list', id: `f-${key}`, 'aria-describedby': hintId },
      el('legend', {}, labelOf(key)),
      el('p', { class: 'hint', id: hintId }, `${capital(f.description)}; none if left empty`),
      this.list,
      this.addButton);
  }

  add() {
    const n = ++this.seq;
    const id = `f-${this.key}-${n}`;
    const row = { id, subs: {} };
    const nounName = capital(this.noun.replace(/^(a|an) /, ''));
    row.name = new PickerSlot(`${id}-name`, this.nameField, nounName, null, this.terms,
      () => this.update(row), { listLabel: `${labelOf(this.key)} known to the ruleset`, optionalHere: true });
    const parts = [row.name.wrap];
    if (this.isMap) {
      for (const [sub, sf] of Object.entries(this.f.items.fields)) {
        if (sub === 'name') continue;
        const d = splitDescription(sf.description);
        const hint = [capital(d.hint), rangeText(sf)].filter(Boolean).join('; ');
        const slot = new InputSlot(`${id}-${sub}`, sf, d.label || labelOf(sub), hint);
        row.subs[sub] = slot;
        parts.push(slot.wrap);
      }
    }
    row.remove = el('button', { type: 'button', class: 'remove' }, 'Remove');
    row.remove.addEventListener('click', () => this.removeRow(row));
    row.li = el('li', { class: 'row', id }, el('div', { class: 'row-fields' }, parts), row.remove);
    this.rows.push(row);
    this.list.append(row.li);
    this.renumber();
    this.update(row);
    return row;
  }

  removeRow(row) {
    const i = this.rows.indexOf(row);
    if (i < 0) return;
    this.rows.splice(i, 1);
    row.li.remove();
    this.renumber();
    const next = this.rows[i] || this.rows[i - 1];
    (next ? next.name.control : this.addButton).focus();
  }

  // Row numbers in the accessible names, so "Remove" says which.
  renumber() {
    const noun = this.noun.replace(/^(a|an) /, '');
    this.rows.forEach((row, i) => {
      row.remove.setAttribute('aria-label', `Remove ${noun} ${i + 1}`);
      row.li.setAttribute('aria-label', `${capital(noun)} ${i + 1}`);
    });
    const max = this.f.max_items || Infinity;
    this.addButton.disabled = this.rows.length >= max;
  }

  // A days field that is not required shows only for a term that takes
  // days; required ones always show.
  update(row) {
    for (const [sub, slot] of Object.entries(row.subs)) {
      const shown = slot.f.required || (slot.f.unit === 'days' && !!(row.name.term && row.name.term.takes_days)) ||
        (slot.f.unit !== 'days');
      slot.wrap.hidden = !shown;
      if (!shown) {
        slot.reset();
        slot.clearMessage();
      }
    }
  }

  reset() {
    for (const row of this.rows) row.li.remove();
    this.rows = [];
    this.renumber();
  }
}

export class IntakeForm {
  constructor(ruleset) {
    this.rs = ruleset;
    this.fields = ruleset.fields || {};
    this.slots = {};       // key -> Slot (scalars)
    this.lists = {};       // key -> ListEditor
    this.askedBy = {};     // key -> [{field, term}]: shown only while that term is picked
    this.root = el('div', { class: 'fields' });
    this.findAskedFields();
    this.build();
  }

  termsOf(vocabulary) {
    if (!vocabulary) return [];
    const terms = this.rs.terms && this.rs.terms[vocabulary];
    if (Array.isArray(terms)) return terms;
    // A ruleset without labels: its vocabulary's names are the labels.
    return ((this.rs.vocabularies || {})[vocabulary] || []).map((n) => ({
      name: n, label: n, class: 'none', takes_days: false, synonyms: [],
    }));
  }

  // Optional scalar fields a term's label names ("Home roller (give
  // needle_depth_mm)"), with the field and term that ask for them.
  findAskedFields() {
    for (const [key, f] of Object.entries(this.fields)) {
      if (!f.vocabulary || f.type === 'array') continue;
      for (const t of this.termsOf(f.vocabulary)) {
        for (const [other, of] of Object.entries(this.fields)) {
          if (other !== key && !of.required && of.type !== 'array' && t.label.includes(other)) {
            (this.askedBy[other] = this.askedBy[other] || []).push({ field: key, term: t.name });
          }
        }
      }
    }
  }

  build() {
    const placed = new Set();
    const groups = GROUPS.map((g) => ({ title: g.title, keys: g.keys.filter((k) => k in this.fields) }));
    const rest = Object.keys(this.fields).filter((k) => !GROUPS.some((g) => g.keys.includes(k)));
    if (rest.length) groups.push({ title: 'Other facts', keys: rest });
    for (const g of groups) {
      if (!g.keys.length) continue;
      const box = el('fieldset', { class: 'group' }, el('legend', {}, g.title));
      for (const key of g.keys) {
        const node = this.buildField(key, this.fields[key]);
        if (node) {
          box.append(node);
          placed.add(key);
        }
      }
      this.root.append(box);
    }
    this.updateRelevance();
  }

  buildField(key, f) {
    const id = `f-${key}`;
    const hint = [capital(f.description), isNumeric(f) ? rangeText(f) : ''].filter(Boolean).join('; ');
    let slot;
    if (f.type === 'array') {
      const list = new ListEditor(key, f, this);
      this.lists[key] = list;
      return list.wrap;
    }
    if (f.type === 'boolean') {
      slot = new RadioSlot(id, f, labelOf(key), hint,
        [{ value: 'yes', label: 'Yes' }, { value: 'no', label: 'No' }], null);
    } else if (f.vocabulary) {
      const terms = this.termsOf(f.vocabulary);
      if (terms.length <= RADIO_MAX) {
        slot = new RadioSlot(id, f, labelOf(key), hint,
          terms.map((t) => ({ value: t.name, label: t.label })), () => this.updateRelevance());
      } else {
        slot = new PickerSlot(id, f, labelOf(key), hint, terms, () => this.updateRelevance());
      }
    } else {
      slot = new InputSlot(id, f, labelOf(key), hint);
    }
    this.slots[key] = slot;
    return slot.wrap;
  }

  // Shows a field a term asks for only while that term is picked.
  updateRelevance() {
    for (const [key, askers] of Object.entries(this.askedBy)) {
      const slot = this.slots[key];
      if (!slot) continue;
      const shown = askers.some((a) => this.slots[a.field] && this.slots[a.field].raw === a.term);
      slot.wrap.hidden = !shown;
      if (!shown) slot.clearMessage();
    }
  }

  reset() {
    for (const slot of Object.values(this.slots)) {
      slot.reset();
      slot.clearMessage();
    }
    for (const list of Object.values(this.lists)) list.reset();
    this.updateRelevance();
  }

  clearMessages() {
    for (const slot of this.allSlots()) {
      slot.clearMessage();
      if (slot.clearNote) slot.clearNote();
    }
  }

  * allSlots() {
    yield* Object.values(this.slots);
    for (const list of Object.values(this.lists)) {
      for (const row of list.rows) {
        yield row.name;
        yield* Object.values(row.subs);
      }
    }
  }

  // Reads the form.  Returns {patient, errors: [{slot, message}],
  // missing: [{key, slot}]} and remembers which slot each sent value came
  // from, for the gateway's data.field.
  collect() {
    const patient = {};
    const errors = [];
    const missing = [];
    this.paths = {};
    for (const [key, slot] of Object.entries(this.slots)) {
      if (slot.wrap.hidden) continue;
      const f = slot.f;
      const raw = slot.raw;
      if (raw === '' || raw === null) {
        if (f.required) missing.push({ key, slot });
        continue;
      }
      this.paths[key] = slot;
      if (f.type === 'boolean') {
        patient[key] = raw === 'yes';
      } else if (isNumeric(f)) {
        const r = parseNumber(raw, f);
        if (r.error) errors.push({ slot, message: `${slot.labelText}: ${r.error}` });
        else patient[key] = r.value;
      } else {
        const s = raw.trim();
        if (f.max_length && utf8Length(s) > f.max_length) {
          errors.push({ slot, message: `${slot.labelText}: at most ${f.max_length} bytes` });
        } else {
          patient[key] = s;
        }
      }
    }
    for (const [key, list] of Object.entries(this.lists)) {
      const items = [];
      for (const row of list.rows) {
        const name = row.name.raw;
        const given = Object.entries(row.subs).filter(([, s]) => !s.wrap.hidden && s.raw.trim() !== '');
        if (!name && !given.length) continue;           // an empty row: nothing
        const path = `${key}[${items.length}]`;
        const noun = list.noun.replace(/^(a|an) /, '');
        if (!name) {
          errors.push({ slot: row.name, message: `${capital(noun)}: give its name, or remove the row` });
          continue;
        }
        if (list.nameField.max_length && utf8Length(name) > list.nameField.max_length) {
          errors.push({ slot: row.name, message: `${capital(noun)}: at most ${list.nameField.max_length} bytes` });
          continue;
        }
        this.paths[path] = row.name;
        this.paths[`${path}.name`] = row.name;
        if (!list.isMap) {
          items.push(name);
          continue;
        }
        const item = { name };
        let ok = true;
        for (const [sub, slot] of Object.entries(row.subs)) {
          if (slot.wrap.hidden) continue;
          this.paths[`${path}.${sub}`] = slot;
          const raw = slot.raw.trim();
          if (raw === '') {
            if (slot.f.required) {
              errors.push({ slot, message: `${slot.labelText} (${name}): needed for each ${noun}` });
              ok = false;
            }
            continue;
          }
          const r = parseNumber(raw, slot.f);
          if (r.error) {
            errors.push({ slot, message: `${slot.labelText} (${name}): ${r.error}` });
            ok = false;
          } else {
            item[sub] = r.value;
          }
        }
        if (!ok) continue;
        const shorthand = list.f.items.shorthand;
        items.push(shorthand && Object.keys(item).length === 1 ? item[shorthand] : item);
      }
      if (items.length) patient[key] = items;
    }
    return { patient, errors, missing };
  }

  // The slot a gateway's data.field names ("age", "conditions[0].name"),
  // or null.
  slotFor(path) {
    if (!path || !this.paths) return null;
    if (this.paths[path]) return this.paths[path];
    const top = path.replace(/^patient\./, '');
    return this.paths[top] || this.slots[top] || null;
  }

  // The slot of a required fact's key (for the answer's "missing" list).
  slotOfKey(key) {
    return this.slots[key] || null;
  }

  // A near-miss suggestion: the free-text row it most likely belongs to
  // (the list whose vocabulary has the suggested term; of its rows that
  // hold no known term, the closest), with a button to use it.  `used`
  // collects rows already matched to an earlier suggestion.
  rowForSuggestion(suggestion, used) {
    for (const list of Object.values(this.lists)) {
      if (!list.terms.some((t) => t.name === suggestion)) continue;
      let best = null;
      let bestD = Infinity;
      for (const row of list.rows) {
        if (row.name.term || !row.name.raw || used.has(row)) continue;
        const d = levenshtein(normalise(row.name.raw), suggestion);
        if (d < bestD) {
          best = row;
          bestD = d;
        }
      }
      if (best) {
        used.add(best);
        return { list, row: best };
      }
    }
    return null;
  }

  // Puts term into the row (a near-miss correction).
  useTerm(row, term) {
    row.name.picker.set(term);
    row.name.clearNote();
    row.name.clearMessage();
  }

  // A short record of the facts as sent, for the answer and its print.
  describe(patient) {
    const out = [];
    for (const [key, v] of Object.entries(patient)) {
      const f = this.fields[key] || {};
      let text;
      if (Array.isArray(v)) {
        const items = f.items || {};
        const vocab = items.vocabulary || (items.fields && items.fields.name && items.fields.name.vocabulary);
        text = v.map((it) => {
          if (typeof it === 'string') return this.termLabel(vocab, it);
          const name = this.termLabel(vocab, it.name);
          const subs = (f.items && f.items.fields) || {};
          const extra = Object.entries(it).filter(([k]) => k !== 'name')
            .map(([k, x]) => `${(subs[k] ? splitDescription(subs[k].description).label : labelOf(k)).toLowerCase()} ${x}`);
          return extra.length ? `${name} (${extra.join(', ')})` : name;
        }).join('; ');
      } else if (typeof v === 'boolean') {
        text = v ? 'yes' : 'no';
      } else if (f.vocabulary) {
        text = this.termLabel(f.vocabulary, v);
      } else {
        text = f.unit ? `${v} ${f.unit}` : String(v);
      }
      out.push({ key, label: labelOf(key), text });
    }
    return out;
  }

  termLabel(vocabulary, name) {
    const t = this.termsOf(vocabulary).find((x) => x.name === name);
    return t ? t.label : name;
  }
}
