// words.js: the words of an assessment, the same as `suit check` prints
// them (client/report.c): verdicts, severities, side-effect kinds, dates
// and money.  A clinic that uses both must read the same thing in both.

// report_verdicts[]: name, label, and the text after "Label: " (null for
// defer, whose text is the return date).
export const VERDICTS = [
  { name: 'suitable', label: 'Suitable', text: 'nothing found that stands in the way' },
  { name: 'suitable-with-precautions', label: 'Suitable with precautions',
    text: 'treat, taking the cautions below into account' },
  { name: 'defer', label: 'Defer', text: null },
  { name: 'refer', label: 'Refer', text: 'a physician should assess this patient before treatment' },
  { name: 'contraindicated', label: 'Contraindicated', text: 'do not treat' },
  { name: 'incomplete', label: 'Incomplete',
    text: 'facts are missing or must be confirmed (see below); no verdict yet' },
];

// report_severities[]: heaviest first, as the verdict is decided.
export const SEVERITIES = [
  { name: 'contraindicated', label: 'Contraindicated' },
  { name: 'refer', label: 'Refer' },
  { name: 'defer', label: 'Defer' },
  { name: 'incomplete', label: 'Incomplete' },
  { name: 'caution', label: 'Caution' },
  { name: 'info', label: 'Information' },
];

export const SIDE_EFFECT_KINDS = [
  { kind: 'expected', label: 'Expected' },
  { kind: 'serious', label: 'Serious (tell the patient what to watch for)' },
];

export const CLINICIAN = 'Decision support for a licensed professional; ' +
  'the decision stays with the clinician.';

export const NO_DATE = 'no fixed date; come back when the reasons below have resolved';

// The calendar date `days` after `now`, as YYYY-MM-DD in local time, or
// null.  report_date_after: noon, then add to the day of the month, so a
// daylight-saving change cannot move the date (days * 86400 s could).
export function dateAfter(now, days) {
  if (!Number.isInteger(days) || days < 0 || days > 36500) return null;
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + days, 12, 0, 0, 0);
  if (Number.isNaN(d.getTime())) return null;
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

// "come back in 60 days (on 2027-01-31)", or the no-date text.
export function deferText(now, days) {
  const date = dateAfter(now, days);
  if (date === null) return NO_DATE;
  return `come back in ${days} day${days === 1 ? '' : 's'} (on ${date})`;
}

// The text after the verdict's label.
export function verdictText(verdict, deferDays, now) {
  const v = VERDICTS.find((x) => x.name === verdict);
  if (!v) return null;
  return v.text !== null ? v.text : deferText(now, deferDays);
}

// report_usd: "$4,200", "-$5".
export function usd(v) {
  const neg = v < 0;
  const digits = String(Math.abs(Math.trunc(v)));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return (neg ? '-$' : '$') + out;
}

// report_range: "3 to 6", "4 weeks".
export function range(lo, hi, unit) {
  return lo === hi ? `${lo}${unit}` : `${lo} to ${hi}${unit}`;
}

// A term as suitd compares it (PROTOCOL.md 4.2): trimmed, each run of
// white space, '_' and '-' one '-', ASCII letters lowercase.
export function normalise(s) {
  return String(s)
    .replace(/^[\s\u00a0]+|[\s\u00a0]+$/g, '')
    .replace(/[\s\u00a0_-]+/g, '-')
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}
