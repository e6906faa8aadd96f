// picker.js: a text field with a pick list of the ruleset's terms that
// narrows as one types, matching the label, the term itself and its
// synonyms (so "accutane" finds Isotretinoin).  The WAI-ARIA 1.2
// combobox pattern: the input keeps the focus, the list is a listbox
// whose active option is aria-activedescendant; Down/Up move, Enter
// picks, Escape closes, and typing anything else is free text (which
// suitd then recognises, flags as a near miss, or as unknown).
//
// The value is the canonical term when one was picked or typed exactly
// (its name, label or a synonym), otherwise the text as typed.

import { normalise } from './words.js';
import { el } from './dom.js';

// Options shown at once; more matches are reachable by typing more.
const MAX_OPTIONS = 60;

let seq = 0;

export class Picker {
  // terms: [{name, label, class, takes_days, synonyms}]; opts: {id,
  // describedBy, listLabel, onChange(term|null)}.
  constructor(terms, opts) {
    this.terms = terms;
    this.onChange = opts.onChange || (() => {});
    this.term = null;
    this.active = -1;
    this.shown = [];
    const id = opts.id || `picker-${++seq}`;
    this.input = el('input', {
      id,
      type: 'text',
      class: 'picker-input',
      role: 'combobox',
      autocomplete: 'off',
      autocapitalize: 'off',
      spellcheck: 'false',
      'aria-autocomplete': 'list',
      'aria-expanded': 'false',
      'aria-controls': `${id}-list`,
      'aria-describedby': opts.describedBy || null,
    });
    this.list = el('ul', {
      id: `${id}-list`,
      class: 'picker-list',
      role: 'listbox',
      'aria-label': opts.listLabel || 'Terms',
      hidden: true,
    });
    this.status = el('span', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
    this.root = el('div', { class: 'picker' }, this.input, this.list, this.status);

    this.input.addEventListener('input', () => this.typed());
    this.input.addEventListener('keydown', (e) => this.key(e));
    this.input.addEventListener('blur', () => {
      this.close();
      this.resolve();
    });
    this.input.addEventListener('click', () => {
      if (this.list.hidden) this.open();
    });
    // mousedown, not click: the input must not lose the focus first.
    this.list.addEventListener('mousedown', (e) => {
      const li = e.target.closest('[role="option"]');
      if (!li) return;
      e.preventDefault();
      this.pick(this.shown[Number(li.dataset.index)]);
    });
  }

  // The term name to send, or the free text, or '' for nothing.
  get value() {
    if (this.term) return this.term.name;
    return this.input.value.trim();
  }

  // Sets the field to a term name (or any text).
  set(text) {
    const t = this.exact(text);
    this.input.value = t ? t.label : text;
    this.setTerm(t);
  }

  setTerm(t) {
    const before = this.term;
    this.term = t;
    if (before !== t) this.onChange(t);
  }

  // The term that text names exactly (name, label or synonym), or null.
  exact(text) {
    const n = normalise(text);
    if (!n) return null;
    return this.terms.find((t) => t.name === n || normalise(t.label) === n ||
      (t.synonyms || []).some((s) => normalise(s) === n)) || null;
  }

  // Matches for what is typed, best first: the term or a synonym equal to
  // it, then starting with it, then a word of the label starting with it,
  // then anything containing it.
  matches(text) {
    const q = normalise(text);
    const out = [];
    for (const t of this.terms) {
      const label = normalise(t.label);
      let rank = -1;
      let via = null;
      if (!q) rank = 3;
      else if (t.name === q || label === q) rank = 0;
      else if (t.name.startsWith(q) || label.startsWith(q)) rank = 1;
      else if (label.split('-').some((w) => w.startsWith(q))) rank = 2;
      else if (t.name.includes(q) || label.includes(q)) rank = 3;
      for (const s of t.synonyms || []) {
        const ns = normalise(s);
        const r = ns === q ? 0 : ns.startsWith(q) ? 1 : ns.includes(q) ? 3 : -1;
        if (q && r >= 0 && (rank < 0 || r < rank)) {
          rank = r;
          via = s;
        }
      }
      if (rank >= 0) out.push({ t, rank, via });
    }
    out.sort((a, b) => a.rank - b.rank || a.t.label.localeCompare(b.t.label));
    return out.slice(0, MAX_OPTIONS);
  }

  typed() {
    if (this.term && this.input.value !== this.term.label) this.setTerm(null);
    this.open();
  }

  open() {
    this.shown = this.matches(this.input.value);
    this.list.replaceChildren(...this.shown.map((m, i) => {
      const extra = [m.t.name];
      if (m.t.class && m.t.class !== 'none') extra.push(m.t.class);
      if (m.via) extra.push(`also: ${m.via}`);
      return el('li', {
        id: `${this.input.id}-opt-${i}`,
        role: 'option',
        class: 'picker-option',
        'aria-selected': 'false',
        'data-index': String(i),
      }, el('span', { class: 'picker-label' }, m.t.label),
      el('span', { class: 'picker-extra' }, extra.join(' · ')));
    }));
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
    const any = this.shown.length > 0;
    this.list.hidden = !any;
    this.input.setAttribute('aria-expanded', String(any));
    this.status.textContent = any
      ? `${this.shown.length} term${this.shown.length === 1 ? '' : 's'} match; Down to choose`
      : 'no term matches: the text is sent as typed';
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    this.active = -1;
  }

  move(delta) {
    if (this.list.hidden) this.open();
    if (!this.shown.length) return;
    const n = this.shown.length;
    this.active = this.active < 0 ? (delta > 0 ? 0 : n - 1) : (this.active + delta + n) % n;
    const opts = this.list.children;
    for (let i = 0; i < opts.length; i++) {
      opts[i].setAttribute('aria-selected', String(i === this.active));
    }
    const li = opts[this.active];
    this.input.setAttribute('aria-activedescendant', li.id);
    li.scrollIntoView({ block: 'nearest' });
  }

  pick(m) {
    if (!m) return;
    this.input.value = m.t.label;
    this.setTerm(m.t);
    this.close();
  }

  // Free text that names a term exactly becomes that term.
  resolve() {
    if (this.term) return;
    const t = this.exact(this.input.value);
    if (t) {
      this.input.value = t.label;
      this.setTerm(t);
    }
  }

  key(e) {
    if (e.altKey && e.key === 'ArrowDown') {
      this.open();
      e.preventDefault();
    } else if (e.key === 'ArrowDown') {
      this.move(1);
      e.preventDefault();
    } else if (e.key === 'ArrowUp') {
      this.move(-1);
      e.preventDefault();
    } else if (e.key === 'Enter') {
      if (!this.list.hidden && this.active >= 0) {
        this.pick(this.shown[this.active]);
        e.preventDefault();
      } else {
        this.close();
        this.resolve();
      }
    } else if (e.key === 'Escape') {
      if (!this.list.hidden) {
        this.close();
        e.preventDefault();
        e.stopPropagation();
      } else if (this.input.value) {
        this.input.value = '';
        this.setTerm(null);
        e.preventDefault();
      }
    } else if (e.key === 'Tab') {
      this.close();
    }
  }
}
