/**
 * @module client/common
 * What both pages' scripts share (inlined before each): building elements, number formats
 * (the CLI prints the same), and following the page's data: the snapshot embedded in the HTML
 * first, then `page.json` beside the page, fetched relative to the page's own URL and polled
 * while `keepPolling` says so. The newer of the two (by revision) is shown.
 */
/* exported el, fmt, seconds, followPageData */

/** An element with attributes and children (strings become text). */
function el(tag, attrs, ...children) {
  const svg = ['svg', 'g', 'line', 'path', 'text', 'polyline', 'circle', 'title'].includes(tag);
  const node = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return node;
}

/** An objective or metric value as the page and `bucketml run` show it. */
function fmt(x) {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(4) : '–';
}

/** A duration in seconds as the page and `bucketml runs` show it. */
function seconds(x) {
  return typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(1)} s` : '–';
}

/**
 * Shows the embedded snapshot, then polls `page.json` every `everyMs` while `keepPolling(data)`
 * holds. Opened from a file (a copied bucket) the browser may refuse the fetch: the embedded
 * snapshot is what there is, and the status line says so.
 */
function followPageData(show, keepPolling, everyMs = 2000) {
  const status = document.getElementById('status');
  let current = null;
  const offer = (data) => {
    if (!data || (current && data.revision <= current.revision)) return;
    current = data;
    show(data);
    document.body.dataset.revision = String(data.revision);
  };
  try {
    offer(JSON.parse(document.getElementById('bucketml-data').textContent));
  } catch {
    // no snapshot embedded: the fetch below brings the data
  }
  if (location.protocol === 'file:') {
    status.textContent = current
      ? `opened from a file: the snapshot of ${current.generatedAt} (open it over HTTP for live data)`
      : 'opened from a file and no snapshot embedded: open it over HTTP';
    return;
  }
  const poll = async () => {
    try {
      const res = await fetch(new URL('page.json', location.href), { cache: 'no-store' });
      if (res.ok) offer(await res.json());
      status.textContent =
        current && keepPolling(current)
          ? `live: refreshed ${new Date().toLocaleTimeString()}`
          : current
            ? `final: written ${current.generatedAt}`
            : '';
    } catch {
      status.textContent = `could not fetch page.json; showing the snapshot of ${current?.generatedAt ?? '–'}`;
    }
    if (!current || keepPolling(current)) setTimeout(poll, everyMs);
  };
  void poll();
}
