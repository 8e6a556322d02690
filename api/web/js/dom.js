// Small DOM helpers. Text always goes in as text nodes (never innerHTML): answers, document text
// and file names come from users and must not become markup.

/**
 * Create an element. 예: h("button", {type: "button", class: "cite", onclick: f}, "[1]")
 * @param {string} tag
 * @param {Record<string, any>} attrs attributes; on* keys are event listeners; false/null skip
 * @param {...(Node|string|null|undefined|false)} children
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el, ...children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

/** 12345 → "12,345" */
export const num = (n) => Number(n || 0).toLocaleString("ko-KR");

/** A short Korean date-time for an ISO time. */
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString("ko-KR", { dateStyle: "short", timeStyle: "short" });
}
