// Small DOM helpers. Text from the API is always set as text (never parsed as HTML).

/** h('p', {class: 'x', onclick: fn}, 'text', child, [more]) → an element. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      element.className = value;
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name in element && typeof value !== 'string') {
      element[name] = value;  // properties such as checked, value, max
    } else {
      element.setAttribute(name, value === true ? '' : value);
    }
  }
  append(element, children);
  return element;
}

/** parent.append(...) that skips null, undefined and false (conditional children). */
export function add(parent, ...children) {
  append(parent, children);
  return parent;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let uniqueCounter = 0;
export const uid = (prefix) => `${prefix}-${(uniqueCounter += 1)}`;

/** A labelled form control: the label is bound to the control by id. */
export function field(labelText, control, hint) {
  control.id ||= uid('f');
  const hintElement = hint ? h('small', { id: `${control.id}-hint`, class: 'hint' }, hint) : null;
  if (hintElement) control.setAttribute('aria-describedby', hintElement.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintElement);
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs },
    options.map(([optionValue, label]) => h('option', {
      value: optionValue, selected: String(optionValue) === String(value ?? '') }, label)));
}

/** The polite live region: progress and outcomes are read out by screen readers. */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  window.setTimeout(() => { region.textContent = message; }, 50);
}

/** An error box (role=alert) for an ApiError, with field errors and the request id to quote. */
export function errorBox(error) {
  const fields = error?.fields
    ? Object.entries(error.fields).map(([name, messages]) =>
      h('li', {}, `${name}: ${[].concat(messages).join(' ')}`))
    : [];
  return h('div', { class: 'notice error', role: 'alert' },
    h('p', {}, error?.message || String(error)),
    fields.length ? h('ul', {}, fields) : null,
    error?.requestId ? h('p', { class: 'muted' }, `Request id: ${error.requestId}`) : null);
}

export function notice(text, kind = 'info') {
  return h('div', { class: `notice ${kind}`, role: 'status' }, text);
}

/** A progress bar with a visible label and a text value (also for screen readers). */
export function progressBar(labelText) {
  const bar = h('progress', { max: 100, value: 0 });
  bar.id = uid('progress');
  const text = h('span', { class: 'progress-text' }, '0%');
  const wrapper = h('div', { class: 'progress' },
    h('label', { for: bar.id }, labelText), bar, text);
  return {
    element: wrapper,
    set(percent, detail = '') {
      const value = Math.max(0, Math.min(100, Math.round(percent)));
      bar.value = value;
      bar.setAttribute('aria-valuetext', `${value}%${detail ? `, ${detail}` : ''}`);
      text.textContent = `${value}%${detail ? ` · ${detail}` : ''}`;
    },
  };
}

export const percent = (x) => (x === null || x === undefined ? '–' : `${Math.round(x * 100)}%`);

export function formatDate(value, withTime = true) {
  if (!value) return '–';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return withTime
    ? date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
    : date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/** snake_case identifiers shown to people: "too_difficult" → "too difficult". */
export const humanize = (text) => String(text ?? '').replaceAll('_', ' ');

/** A table with a caption; rows are arrays of cells (text or nodes). */
export function table(caption, headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', attrs,
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((title) => h('th', { scope: 'col' }, title)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell, index) => (index === 0
        ? h('th', { scope: 'row' }, cell) : h('td', {}, cell))))))));
}
