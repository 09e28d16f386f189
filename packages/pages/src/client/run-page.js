/**
 * @module client/run-page
 * The run page's script (inlined into runs/<runId>/index.html after common.js and uPlot):
 * renders RunPageData — header and cards, the trials table in report.json's order, every
 * trial's learning curve in one uPlot chart with the best highlighted, a parallel-coordinates
 * view of parameters → objective (SVG, drawn here), the gate's verdict, the data summary, the
 * decision trail and the history — and follows page.json while the run is not over.
 */
/* global el, fmt, seconds, followPageData */

const BEST = '#d1242f';
let curvesChart = null;

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function replace(id, ...children) {
  document
    .getElementById(id)
    .replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== ''));
}

/** A trial's colour: blue (good) → orange (bad) by its place in the ranking. */
function rankColour(i, n, alpha = 1) {
  const t = n > 1 ? i / (n - 1) : 0;
  return `hsla(${Math.round(210 - 180 * t)}, 70%, 45%, ${alpha})`;
}

function card(label, value, title) {
  return el(
    'div',
    { class: 'card', title },
    el('div', { class: 'label' }, label),
    el('div', { class: 'value' }, value),
  );
}

function stateCell(t, metric) {
  const why = t.earlyStop
    ? `stopped: ${metric} ${fmt(t.earlyStop.value)} at measurement ${t.earlyStop.measurement} vs median ${fmt(t.earlyStop.median)} of ${t.earlyStop.finished} finished; improved ${fmt(t.earlyStop.improvement)} vs their ${fmt(t.earlyStop.medianImprovement)}`
    : t.error;
  return el(
    'td',
    { class: 'state' },
    el('span', { class: `badge ${t.state}` }, t.state),
    why ? el('span', { class: 'why' }, why) : null,
  );
}

function renderHeader(d) {
  document.title = `${d.runId} · BucketML`;
  text('title', `${d.model} · ${d.runId}`);
  const state = document.getElementById('state');
  state.textContent = d.state;
  state.className = `badge ${d.state}`;
  replace(
    'subtitle',
    `created ${new Date(d.createdAt).toLocaleString()} · ${seconds(d.durationSeconds)}`,
    d.version ? ' · deployed version ' : '',
    d.version ? el('a', { href: `../../models/${d.model}/index.html` }, d.version) : '',
  );
  const metric = d.study?.metricTag ?? 'rmse';
  const done = d.trials.filter((t) => t.state !== 'ACTIVE').length;
  replace(
    'cards',
    card('state', d.state),
    card('trials', d.study ? `${done} / ${d.study.maxTrials}` : '–', 'finished / planned'),
    card(
      `best ${metric}`,
      d.best ? fmt(d.best.objective) : '–',
      d.best ? `trial ${d.best.trialId}` : '',
    ),
    card(`final ${metric}`, fmt(d.final?.value)),
    card('gate', d.decision ? (d.decision.deployed ? 'deployed' : 'rejected') : '–'),
    card('rows used', d.data ? String(d.data.rows.used) : '–'),
  );
}

function renderTrials(d) {
  const metric = d.study?.metricTag ?? 'rmse';
  const params = [...new Set(d.trials.flatMap((t) => Object.keys(t.parameters)))];
  const table = document.getElementById('trials');
  table.tHead.replaceChildren(
    el(
      'tr',
      {},
      el('th', { class: 'num' }, 'rank'),
      el('th', {}, 'trial'),
      el('th', {}, 'state'),
      el('th', { class: 'num' }, metric),
      params.map((p) => el('th', { class: 'num' }, p)),
      el('th', { class: 'num' }, 'duration'),
      el('th', { class: 'num' }, 'measurements'),
    ),
  );
  table.tBodies[0].replaceChildren(
    ...d.trials.map((t) =>
      el(
        'tr',
        { 'data-trial-id': t.id, class: d.best && t.id === d.best.trialId ? 'best' : '' },
        el('td', { class: 'num' }, t.rank ?? '–'),
        el('td', { class: 'trial' }, t.id),
        stateCell(t, metric),
        el('td', { class: 'num objective' }, fmt(t.objective)),
        params.map((p) => el('td', { class: 'num' }, t.parameters[p] ?? '–')),
        el('td', { class: 'num duration' }, seconds(t.durationSeconds)),
        el('td', { class: 'num' }, t.measurements.length),
      ),
    ),
  );
  text(
    'trials-note',
    d.trials.length
      ? `sorted by ${metric} (${d.study?.goal === 'MAXIMIZE' ? 'higher' : 'lower'} is better), as report.json`
      : 'no trial yet',
  );
}

function renderCurves(d) {
  const box = document.getElementById('curves');
  const trials = d.trials.filter((t) => t.measurements.length > 0);
  const n = Math.max(0, ...trials.map((t) => t.measurements.length));
  curvesChart?.destroy();
  curvesChart = null;
  box.replaceChildren();
  if (n === 0) {
    box.append(el('div', { class: 'muted' }, 'no measurement yet'));
    text('curves-note', '');
    return;
  }
  const metric = d.study?.metricTag ?? 'rmse';
  const x = Array.from({ length: n }, (_, i) => i + 1);
  const ys = trials.map((t) => x.map((_, i) => t.measurements[i] ?? null));
  const bestId = d.best?.trialId;
  const series = [
    { label: 'measurement' },
    ...trials.map((t, i) => ({
      label: `trial ${t.id}`,
      stroke: t.id === bestId ? BEST : rankColour(i, trials.length, 0.55),
      width: t.id === bestId ? 3 : 1.2,
      dash: t.state === 'STOPPED' ? [4, 3] : undefined,
      points: { show: false },
      spanGaps: false,
    })),
  ];
  // The best trial is drawn last, on top of the others.
  const order = trials
    .map((_, i) => i)
    .sort((a, b) => (trials[a].id === bestId) - (trials[b].id === bestId));
  const data = [x, ...order.map((i) => ys[i])];
  const ordered = [series[0], ...order.map((i) => series[i + 1])];
  curvesChart = new uPlot(
    {
      width: Math.max(300, box.clientWidth || 600),
      height: 280,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false } },
      axes: [{ label: 'evaluation' }, { label: metric, size: 60 }],
      series: ordered,
    },
    data,
    box,
  );
  text(
    'curves-note',
    `${trials.length} trial(s)${bestId ? `; best, trial ${bestId}, in red` : ''}; stopped trials dashed`,
  );
}

/** One axis of the parallel coordinates: a value → [0, 1] (0 at the bottom). */
function axisFor(name, values) {
  const nums = values.filter((v) => typeof v === 'number');
  if (nums.length !== values.length) {
    const cats = [...new Set(values.map(String))].sort();
    return {
      name,
      pos: (v) => (cats.length > 1 ? cats.indexOf(String(v)) / (cats.length - 1) : 0.5),
      ticks: cats.map((c, i) => [cats.length > 1 ? i / (cats.length - 1) : 0.5, c]),
    };
  }
  const [lo, hi] = [Math.min(...nums), Math.max(...nums)];
  const log = lo > 0 && hi / lo >= 20;
  const f = log ? Math.log : (v) => v;
  const span = f(hi) - f(lo);
  const pos = (v) => (span > 0 ? (f(v) - f(lo)) / span : 0.5);
  const label = (v) =>
    Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3);
  return {
    name: log ? `${name} (log)` : name,
    pos,
    ticks: [
      [pos(lo), label(lo)],
      [pos(hi), label(hi)],
    ],
  };
}

function renderParallel(d) {
  const svg = document.getElementById('parallel');
  const metric = d.study?.metricTag ?? 'rmse';
  const trials = d.trials.filter((t) => typeof t.objective === 'number');
  svg.replaceChildren();
  if (trials.length === 0) {
    svg.append(el('text', { x: 10, y: 20 }, 'no trial with an objective yet'));
    text('parallel-note', '');
    return;
  }
  const params = [...new Set(trials.flatMap((t) => Object.keys(t.parameters)))];
  const axes = [
    ...params.map((p) =>
      axisFor(
        p,
        trials.map((t) => t.parameters[p]),
      ),
    ),
    axisFor(
      metric,
      trials.map((t) => t.objective),
    ),
  ];
  const W = Math.max(320, svg.clientWidth || svg.parentElement.clientWidth || 600);
  const H = 300;
  const [left, right, top, bottom] = [70, 60, 24, 24];
  const xAt = (i) => left + (axes.length > 1 ? (i * (W - left - right)) / (axes.length - 1) : 0);
  const yAt = (p) => top + (1 - p) * (H - top - bottom);
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const values = (t) => [...params.map((p) => t.parameters[p]), t.objective];
  const bestId = d.best?.trialId;
  // The ranking's order: the best last, on top.
  const drawn = [...trials].reverse();
  const lines = el(
    'g',
    { class: 'lines' },
    drawn.map((t) => {
      const i = trials.indexOf(t);
      const points = values(t).map(
        (v, k) => `${xAt(k).toFixed(1)},${yAt(axes[k].pos(v)).toFixed(1)}`,
      );
      return el(
        'path',
        {
          d: `M${points.join('L')}`,
          fill: 'none',
          stroke: t.id === bestId ? BEST : rankColour(i, trials.length, 0.7),
          'stroke-width': t.id === bestId ? 3 : 1.5,
          'stroke-dasharray': t.state === 'STOPPED' ? '4 3' : undefined,
          'data-trial-id': t.id,
        },
        el('title', {}, `trial ${t.id}: ${metric} ${fmt(t.objective)}`),
      );
    }),
  );
  const axisNodes = axes.map((a, k) =>
    el(
      'g',
      { class: 'axis' },
      el('line', { x1: xAt(k), x2: xAt(k), y1: yAt(0), y2: yAt(1) }),
      el('text', { class: 'name', x: xAt(k), y: 14, 'text-anchor': 'middle' }, a.name),
      a.ticks.map(([p, label]) => el('text', { x: xAt(k) + 4, y: yAt(p) + 4 }, label)),
    ),
  );
  svg.append(lines, ...axisNodes);
  text('parallel-note', `${trials.length} trial(s); colour by rank, best in red`);
}

function renderGate(d) {
  const g = d.decision;
  if (!g) {
    replace(
      'gate',
      d.final
        ? `candidate ${d.final.metric} ${fmt(d.final.value)} sent to the gate`
        : 'not reached yet',
    );
    return;
  }
  replace(
    'gate',
    el(
      'table',
      { id: 'gate-table' },
      el(
        'tr',
        {},
        el('th', {}, 'verdict'),
        el(
          'td',
          {},
          el(
            'span',
            { class: `badge ${g.deployed ? 'deployed' : 'rejected'}` },
            g.deployed ? 'deployed' : 'rejected',
          ),
        ),
      ),
      el(
        'tr',
        {},
        el('th', {}, `candidate ${g.metric}`),
        el('td', { class: 'candidate' }, fmt(g.candidateValue)),
      ),
      el(
        'tr',
        {},
        el('th', {}, `serving ${g.metric}`),
        el(
          'td',
          { class: 'serving' },
          g.servingVersion
            ? `${fmt(g.servingValue)} (version ${g.servingVersion})`
            : 'none: no model was serving',
        ),
      ),
      el('tr', {}, el('th', {}, 'eval rows'), el('td', { class: 'eval-rows' }, g.evalRows ?? '–')),
      el('tr', {}, el('th', {}, 'reason'), el('td', {}, g.reason)),
    ),
  );
}

function renderData(d) {
  const data = d.data;
  if (!data) return;
  const reasons = Object.entries(data.rows.rejectedByReason);
  replace(
    'data',
    el(
      'div',
      {},
      `${data.rows.read} rows read, ${data.rows.used} used, ${data.rows.rejected} rejected`,
      reasons.length ? ` (${reasons.map(([r, n]) => `${r}: ${n}`).join('; ')})` : '',
      '. Drift: ',
      data.verdict,
      data.reference ? ` against ${data.reference.as} ${data.reference.version}` : '',
      '.',
    ),
    data.drifted.length
      ? el(
          'table',
          {},
          el(
            'tr',
            {},
            el('th', {}, 'feature'),
            el('th', {}, 'distance'),
            el('th', {}, 'threshold'),
            el('th', {}, 'why'),
          ),
          data.drifted.map((f) =>
            el(
              'tr',
              {},
              el('td', {}, f.name, f.blocking ? ' (blocking)' : ''),
              el('td', { class: 'num' }, `${f.metric} ${fmt(f.distance)}`),
              el('td', { class: 'num' }, fmt(f.threshold)),
              el('td', {}, f.reasons.join('; ')),
            ),
          ),
        )
      : null,
    data.missingColumns.length
      ? el('div', {}, `columns gone: ${data.missingColumns.join(', ')}`)
      : null,
    data.newColumns.length ? el('div', {}, `new columns: ${data.newColumns.join(', ')}`) : null,
  );
}

function render(d) {
  document.body.dataset.state = d.state;
  renderHeader(d);
  renderTrials(d);
  renderCurves(d);
  renderParallel(d);
  renderGate(d);
  renderData(d);
  replace(
    'decisions',
    d.decisions.length
      ? d.decisions.map((x) =>
          el(
            'li',
            { 'data-kind': x.kind },
            el('span', { class: 'kind' }, x.kind),
            x.trialId ? `trial ${x.trialId}: ` : '',
            x.message,
          ),
        )
      : [el('li', { class: 'muted' }, 'none yet')],
  );
  replace(
    'history',
    d.history.map((h) => el('li', {}, `${h.state} at ${new Date(h.at).toLocaleTimeString()}`)),
    d.error
      ? [el('li', { class: 'badge failed' }, `failed in ${d.error.stage}: ${d.error.message}`)]
      : [],
  );
  document.body.dataset.rendered = 'true';
}

followPageData(render, (d) => !d.terminal);
