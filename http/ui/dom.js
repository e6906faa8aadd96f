// dom.js: building elements.  Every text the page shows that came from
// the gateway (the ruleset's labels, a finding's reason, an error message)
// goes in as a text node, never as markup: the ruleset and the answers are
// data, and the page has no innerHTML anywhere.

// el('p', {class: 'x', hidden: true}, 'text', child, ...): attributes
// whose value is null, undefined or false are left out; true is an empty
// attribute; children may be strings, nodes, or arrays of them.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'hidden') node.hidden = true;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// The first letter in capitals: labels come from the ruleset's lowercase
// descriptions ("pregnant now").
export function capital(s) {
  const t = String(s || '');
  return t ? t[0].toUpperCase() + t.slice(1) : t;
}
