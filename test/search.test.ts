import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '@bucketml/model';
import {
  gridPoint,
  suggestBayesian,
  shouldStopTrial,
  suggestTrial,
  type Observation,
  type ParamSpec,
} from '@bucketml/tuning';

const MIXED: ParamSpec[] = [
  { name: 'batch_size', type: 'INTEGER', min: 8, max: 512, scale: 'UNIT_LOG_SCALE' },
  { name: 'lr', type: 'DOUBLE', min: 1e-4, max: 0.1, scale: 'UNIT_REVERSE_LOG_SCALE' },
  { name: 'opt', type: 'CATEGORICAL', categoricalValues: ['adam', 'sgd', 'ftrl'] },
  { name: 'nembeds', type: 'DISCRETE', discreteValues: [3, 10, 30] },
];

/** A smooth objective with its minimum at batch 64, lr 0.01, adam, nembeds 10. */
function objective(p: Record<string, number | string>): number {
  return (
    (Math.log2(Number(p.batch_size)) - 6) ** 2 +
    (Math.log10(Number(p.lr)) + 2) ** 2 +
    (p.opt === 'adam' ? 0 : 1) +
    (p.nembeds === 10 ? 0 : 0.5)
  );
}

function study(algorithm: string, trials: number, seed: number): Observation[] {
  const history: Observation[] = [];
  for (let i = 0; i < trials; i++) {
    const parameters = suggestTrial(
      { params: MIXED, goal: 'MINIMIZE', algorithm },
      history,
      new Rng(seed * 7919 + i),
    );
    history.push({ parameters, state: 'SUCCEEDED', objective: objective(parameters) });
  }
  return history;
}

describe('search algorithms', () => {
  it('suggests only valid values of every parameter type', () => {
    for (const h of study('ALGORITHM_UNSPECIFIED', 20, 1)) {
      const p = h.parameters;
      assert.ok(
        Number.isInteger(p.batch_size) && Number(p.batch_size) >= 8 && Number(p.batch_size) <= 512,
        JSON.stringify(p),
      );
      assert.ok(Number(p.lr) >= 1e-4 && Number(p.lr) <= 0.1, JSON.stringify(p));
      assert.ok(['adam', 'sgd', 'ftrl'].includes(String(p.opt)));
      assert.ok([3, 10, 30].includes(Number(p.nembeds)));
    }
  });

  it('is reproducible: the same seed and history give the same suggestions', () => {
    assert.deepEqual(study('ALGORITHM_UNSPECIFIED', 12, 3), study('ALGORITHM_UNSPECIFIED', 12, 3));
  });

  it('Bayesian search finds a better optimum than random search with the same 25 trials', () => {
    const best = (h: Observation[]) => Math.min(...h.map((o) => o.objective!));
    const seeds = [1, 2, 3];
    const bayes = seeds.map((s) => best(study('ALGORITHM_UNSPECIFIED', 25, s)));
    const random = seeds.map((s) => best(study('RANDOM_SEARCH', 25, s)));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(bayes) < mean(random), `bayesian ${bayes} vs random ${random}`);
  });

  it('spreads a parallel batch: pending trials are not suggested again (constant liar)', () => {
    const history = study('ALGORITHM_UNSPECIFIED', 15, 5); // past the 12 random initial trials
    const batch: Observation[] = [];
    for (let i = 0; i < 4; i++) {
      const parameters = suggestTrial(
        { params: MIXED, goal: 'MINIMIZE', algorithm: 'ALGORITHM_UNSPECIFIED' },
        [...history, ...batch],
        new Rng(99),
      );
      batch.push({ parameters, state: 'ACTIVE' });
    }
    const keys = batch.map((b) => JSON.stringify(b.parameters));
    assert.equal(new Set(keys).size, 4, keys.join('\n'));
  });

  it('an early-stopped trial enters the model as a pending one: its partial value is not its objective', () => {
    const history = study('ALGORITHM_UNSPECIFIED', 15, 6);
    const suggest = (last: Observation) =>
      suggestTrial(
        { params: MIXED, goal: 'MINIMIZE', algorithm: 'ALGORITHM_UNSPECIFIED' },
        [...history.slice(0, -1), last],
        new Rng(7),
      );
    const { parameters } = history.at(-1)!;
    const stopped = suggest({ parameters, state: 'STOPPED', objective: 50 });
    assert.deepEqual(stopped, suggest({ parameters, state: 'ACTIVE' }));
    assert.deepEqual(stopped, suggest({ parameters, state: 'STOPPED', objective: 0.01 }));
    assert.notDeepEqual(stopped, suggest({ parameters, state: 'SUCCEEDED', objective: 50 }));
  });

  it('grid search enumerates every combination, then cycles', () => {
    const params: ParamSpec[] = [
      { name: 'a', type: 'INTEGER', min: 1, max: 2 },
      { name: 'b', type: 'CATEGORICAL', categoricalValues: ['x', 'y', 'z'] },
    ];
    const points = Array.from({ length: 7 }, (_, k) => gridPoint(params, k));
    assert.equal(new Set(points.slice(0, 6).map((p) => JSON.stringify(p))).size, 6);
    assert.deepEqual(points[6], points[0]);
  });

  it('grid search computes each point of a huge INTEGER range without materialising it', () => {
    const params: ParamSpec[] = [
      { name: 'n', type: 'INTEGER', min: 1, max: 500_000_000 },
      { name: 'm', type: 'INTEGER', min: 1, max: 50_000_000 },
    ];
    const started = performance.now();
    const heap = process.memoryUsage().heapUsed;
    for (let k = 0; k < 1000; k++) gridPoint(params, k);
    assert.deepEqual(gridPoint(params, 50_000_001), { n: 2, m: 2 });
    assert.ok(performance.now() - started < 100, `${performance.now() - started} ms`);
    assert.ok(process.memoryUsage().heapUsed - heap < 50e6);
  });
});

describe('bounded work per suggestion', () => {
  it('a Bayesian suggestion after 800 trials costs about what one after 200 does', () => {
    const params: ParamSpec[] = [
      { name: 'a', type: 'DOUBLE', min: 0, max: 1 },
      { name: 'b', type: 'DOUBLE', min: 0, max: 1 },
    ];
    const rng = new Rng(5);
    const history = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const a = rng.next();
        const b = rng.next();
        return {
          parameters: { a, b },
          state: (i % 50 === 0 ? 'ACTIVE' : 'SUCCEEDED') as 'ACTIVE' | 'SUCCEEDED',
          objective: (a - 0.3) ** 2 + (b - 0.7) ** 2,
        };
      });
    const time = (n: number) => {
      const h = history(n);
      const started = performance.now();
      suggestBayesian(params, 'MINIMIZE', h, new Rng(1), { candidates: 200 });
      return performance.now() - started;
    };
    const at200 = time(200);
    const at800 = time(800);
    assert.ok(
      at800 < 3 * at200 + 200,
      `800 trials: ${at800.toFixed(0)} ms, 200 trials: ${at200.toFixed(0)} ms`,
    );
  });
});

describe('median stopping rule', () => {
  // Four finished learning curves (RMSE by measurement).
  const peers = [
    [1.3, 1.2, 1.1, 1.08],
    [1.25, 1.15, 1.1, 1.07],
    [1.4, 1.3, 1.2, 1.15],
    [1.35, 1.25, 1.12, 1.09],
  ];

  it('stops a trial that is behind the peers’ median and improving slower than they did', () => {
    // At 2 measurements the peers' best values are 1.2, 1.15, 1.3, 1.25 (median 1.225) and
    // their improvements since the first 0.1 each (median 0.1).
    assert.equal(shouldStopTrial([1.5, 1.45], peers, 'MINIMIZE'), true, 'behind, improving 0.05');
    assert.equal(shouldStopTrial([1.3, 1.2], peers, 'MINIMIZE'), false, 'ahead of the median');
  });

  it('keeps a slow starter that is behind but catching up faster than its peers did', () => {
    assert.equal(shouldStopTrial([1.6, 1.4], peers, 'MINIMIZE'), false, 'behind, improving 0.2');
    assert.equal(
      shouldStopTrial([1.6, 1.4, 1.3], peers, 'MINIMIZE'),
      false,
      'still improving faster (0.3 vs 0.2)',
    );
    assert.equal(
      shouldStopTrial([1.6, 1.5, 1.45], peers, 'MINIMIZE'),
      true,
      'behind and improving 0.15 vs 0.2',
    );
  });

  it('waits for enough measurements and enough finished peers', () => {
    assert.equal(shouldStopTrial([9], peers, 'MINIMIZE'), false, 'one measurement is too few');
    assert.equal(
      shouldStopTrial([9, 9], peers.slice(0, 3), 'MINIMIZE'),
      false,
      'three peers are too few',
    );
    assert.equal(
      shouldStopTrial([9, 9, 9, 9, 9], peers, 'MINIMIZE'),
      false,
      'no peer reported that far',
    );
  });

  it('follows the goal when maximising', () => {
    const acc = peers.map((m) => m.map((x) => 2 - x));
    assert.equal(shouldStopTrial([0.5, 0.55], acc, 'MAXIMIZE'), true);
    assert.equal(shouldStopTrial([0.7, 0.8], acc, 'MAXIMIZE'), false);
    assert.equal(shouldStopTrial([0.4, 0.6], acc, 'MAXIMIZE'), false, 'a slow starter');
  });
});
