/**
 * @module client/models-page
 * The models page's script (inlined into models/<model>/index.html after common.js): every
 * deployed version of the model, newest first, with its figures, the gate's comparison with
 * the version it replaced, and when it served (from its deployment to the next one's).
 */
/* global el, fmt, followPageData */

function render(d) {
  document.title = `${d.model} · BucketML`;
  document.getElementById('title').textContent = `model ${d.model}`;
  document.getElementById('subtitle').textContent = d.serving
    ? `serving version ${d.serving}; ${d.deployments.length} deployment(s)`
    : 'no version serving';
  const metricNames = [...new Set(d.deployments.flatMap((x) => Object.keys(x.metrics ?? {})))];
  const table = document.getElementById('versions');
  table.tHead.replaceChildren(
    el(
      'tr',
      {},
      el('th', {}, 'version'),
      el('th', {}, 'gate metric'),
      metricNames.map((m) => el('th', { class: 'num' }, m)),
      el('th', { class: 'num' }, 'eval rows'),
      el('th', {}, 'replaced'),
      el('th', {}, 'served from'),
      el('th', {}, 'until'),
    ),
  );
  const byTime = [...d.deployments].sort((a, b) => a.deployedAt.localeCompare(b.deployedAt));
  const until = (x) => byTime[byTime.indexOf(x) + 1]?.deployedAt;
  table.tBodies[0].replaceChildren(
    ...[...byTime].reverse().map((x) =>
      el(
        'tr',
        { 'data-version': x.version, class: x.version === d.serving ? 'best' : '' },
        el(
          'td',
          {},
          el('a', { href: `../../runs/${x.runId}/index.html` }, x.version),
          x.version === d.serving ? ' (serving)' : '',
        ),
        el('td', {}, `${x.metric} ${fmt(x.value)}`),
        metricNames.map((m) => el('td', { class: 'num' }, fmt(x.metrics?.[m]))),
        el('td', { class: 'num' }, x.evalRows ?? '–'),
        el(
          'td',
          {},
          x.previousVersion
            ? `${x.previousVersion} (${x.metric} ${fmt(x.servingValue)} on this run's data)`
            : '–',
        ),
        el('td', {}, new Date(x.deployedAt).toLocaleString()),
        el(
          'td',
          {},
          until(x) ? new Date(until(x)).toLocaleString() : x.version === d.serving ? 'now' : '–',
        ),
      ),
    ),
  );
  document.body.dataset.rendered = 'true';
}

// A model's page changes only when a run deploys: poll slowly.
followPageData(render, () => true, 10000);
