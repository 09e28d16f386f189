import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParamSpec, Trial } from '@bucketml/contracts';
import { Rng } from '@bucketml/model';
import {
  addToStudyIndex,
  COURSE_HYPERPARAM_YAML,
  fromVertexTuningJob,
  parseStudyDocument,
  priorObservations,
  selectWarmStart,
  StudySpecError,
  suggestTrial,
  toVertexTuningJob,
  type IndexedStudy,
  type Observation,
} from '@bucketml/tuning';

const course = parseStudyDocument(COURSE_HYPERPARAM_YAML);
const params: ParamSpec[] = course.params;
const space = { params, metricTag: 'rmse', goal: 'MINIMIZE' as const, warmStart: true };
const trials = (objectives: number[]): Trial[] =>
  objectives.map((objective, i) => ({
    id: String(i + 1),
    state: 'SUCCEEDED',
    parameters: { batch_size: 16 * (i + 1), nembeds: 3 + i, nnsize: 64 + 32 * i },
    objective,
  }));
const study = (runId: string, completedAt: string, over: Partial<IndexedStudy> = {}) => ({
  runId,
  completedAt,
  metricTag: 'rmse',
  goal: 'MINIMIZE' as const,
  params,
  ...over,
});
const run = { runId: 'babyweight-new', createdAt: '2026-12-01T10:00:00.000Z' };

describe('warm start: the study index and selectWarmStart', () => {
  const a = addToStudyIndex(null, study('r-a', '2026-12-01T08:00:00.000Z'), trials([1.2, 1.1]));
  const index = addToStudyIndex(a, study('r-b', '2026-12-01T09:00:00.000Z'), trials([1.05]));

  it('keeps succeeded trials best first, and adds a run once', () => {
    const withFailed = [
      ...trials([1.3, 1.1]),
      { id: '3', state: 'FAILED', parameters: {} } as Trial,
    ];
    const i = addToStudyIndex(null, study('r', 't'), withFailed);
    assert.deepEqual(
      i.studies[0].trials.map((t) => t.trialId),
      ['2', '1'],
    );
    assert.deepEqual(addToStudyIndex(i, study('r', 'later'), trials([0.1])), i);
  });

  it('takes the matching studies, most recent first', () => {
    const w = selectWarmStart(space, index, run);
    assert.deepEqual(w.runs, ['r-b', 'r-a']);
    assert.deepEqual(
      w.trials.map((t) => [t.runId, t.objective]),
      [
        ['r-b', 1.05],
        ['r-a', 1.1],
        ['r-a', 1.2],
      ],
    );
    assert.equal(w.reason, undefined);
  });

  it('matches parameters by name in any order, and nothing else', () => {
    const reordered = { ...space, params: [...params].reverse() };
    assert.deepEqual(selectWarmStart(reordered, index, run).runs, ['r-b', 'r-a']);
    const widened = params.map((p) => (p.name === 'nnsize' ? { ...p, max: 1024 } : p));
    const rescaled = params.map((p) =>
      p.name === 'nembeds' ? { ...p, scale: 'UNIT_LOG_SCALE' as const } : p,
    );
    for (const other of [
      { ...space, params: widened },
      { ...space, params: rescaled },
      { ...space, params: params.slice(1) },
      { ...space, metricTag: 'logloss' },
      { ...space, goal: 'MAXIMIZE' as const },
    ]) {
      const w = selectWarmStart(other, index, run);
      assert.deepEqual([w.runs, w.trials], [[], []]);
      assert.match(
        w.reason!,
        /no earlier study has the same parameters, metric and goal \(2 differ\)/,
      );
    }
  });

  it('only uses studies finished before the run was created, never the run itself', () => {
    const early = { ...run, createdAt: '2026-12-01T08:30:00.000Z' };
    assert.deepEqual(selectWarmStart(space, index, early).runs, ['r-a']);
    assert.equal(selectWarmStart(space, index, { ...run, runId: 'r-b' }).runs.join(), 'r-a');
    assert.equal(selectWarmStart(space, null, run).reason, 'no earlier study');
  });

  it('is off with warmStart: false', () => {
    const w = selectWarmStart({ ...space, warmStart: false }, index, run);
    assert.deepEqual(w, { runs: [], trials: [], reason: 'turned off (warmStart: false)' });
  });

  it('is deterministic: the same index and run give the same selection', () => {
    assert.deepEqual(
      selectWarmStart(space, structuredClone(index), run),
      selectWarmStart(space, index, run),
    );
  });
});

describe('warm start: warmStart in both study forms', () => {
  it('defaults to on, and warmStart: false turns it off (course and Vertex forms)', () => {
    assert.equal(course.warmStart, true);
    const off = parseStudyDocument(
      COURSE_HYPERPARAM_YAML.replace(
        'enableTrialEarlyStopping: True',
        'enableTrialEarlyStopping: True\n    warmStart: false',
      ),
    );
    assert.equal(off.warmStart, false);
    const vertex = toVertexTuningJob(off);
    assert.equal(vertex.warmStart, false);
    assert.deepEqual(fromVertexTuningJob(vertex), off);
    assert.equal('warmStart' in toVertexTuningJob(course), false);
    assert.equal(fromVertexTuningJob(toVertexTuningJob(course)).warmStart, true);
  });

  it('refuses a warmStart that is not a boolean, naming the field', () => {
    const bad = COURSE_HYPERPARAM_YAML.replace(
      'maxTrials: 20',
      'maxTrials: 20\n    warmStart: sometimes',
    );
    assert.throws(
      () => parseStudyDocument(bad),
      (e: StudySpecError) =>
        e.problems.some(
          (p) => p === 'trainingInput.hyperparameters.warmStart must be true or false',
        ),
    );
  });
});

describe('warm start: suggestTrial with earlier trials', () => {
  const prior = selectWarmStart(
    space,
    addToStudyIndex(
      null,
      study('r-a', '2026-12-01T07:00:00.000Z'),
      trials([1.2, 1.1, 1.3, 1.15, 1.25, 1.18, 1.22]),
    ),
    run,
  ).trials;
  const bayes = { params, goal: 'MINIMIZE' as const, algorithm: 'ALGORITHM_UNSPECIFIED' };

  it('re-runs the best earlier parameters first, whatever the algorithm', () => {
    for (const algorithm of ['ALGORITHM_UNSPECIFIED', 'RANDOM_SEARCH', 'GRID_SEARCH'])
      assert.deepEqual(
        suggestTrial({ ...bayes, algorithm }, [], new Rng(1), prior),
        trials([0, 0])[1].parameters,
      );
  });

  it('the grid then starts from its first point', () => {
    const first: Observation = { parameters: prior[0].parameters, state: 'ACTIVE' };
    assert.deepEqual(
      suggestTrial({ ...bayes, algorithm: 'GRID_SEARCH' }, [first], new Rng(1), prior),
      { batch_size: 8, nembeds: 3, nnsize: 64 },
    );
  });

  it('models earlier trials at once (no random phase), deterministically', () => {
    const history: Observation[] = [
      { parameters: prior[0].parameters, state: 'SUCCEEDED', objective: 1.0 },
    ];
    const a = suggestTrial(bayes, history, new Rng(7), prior);
    assert.deepEqual(suggestTrial(bayes, history, new Rng(7), prior), a);
    // Cold, one finished trial is still the random phase: a plain random sample.
    const cold = suggestTrial(bayes, history, new Rng(7));
    assert.notDeepEqual(a, cold);
  });

  it('shifts earlier objectives by the re-run change and drops the re-measured point', () => {
    const history: Observation[] = [
      { parameters: prior[0].parameters, state: 'SUCCEEDED', objective: 1.0 },
    ];
    const obs = priorObservations(prior, history);
    assert.equal(obs.length, prior.length - 1);
    const shift = 1.0 - prior[0].objective;
    assert.deepEqual(
      obs.map((o) => o.objective!.toFixed(6)),
      prior.slice(1).map((t) => (t.objective + shift).toFixed(6)),
    );
    assert.deepEqual(
      priorObservations(prior, []).map((o) => o.objective),
      prior.map((t) => t.objective),
    );
    assert.ok(obs.every((o) => o.earlier === true));
  });
});

describe('warm start: earlier trials count as far as this run agrees with them', () => {
  // One parameter; the earlier run's objective has its minimum at 0.2. This run re-ran 0.2 and
  // three points beside it. Either it agrees (the same curve, 0.05 higher) or the optimum moved
  // to 0.8 (the changed drop of docs/benchmarks.md, warm start).
  const x: ParamSpec[] = [
    { name: 'x', type: 'DOUBLE', min: 0, max: 1, scale: 'UNIT_LINEAR_SCALE' },
  ];
  const space = { params: x, goal: 'MINIMIZE' as const, algorithm: 'ALGORITHM_UNSPECIFIED' };
  const earlier = Array.from({ length: 11 }, (_, i) => ({
    runId: 'r-a',
    trialId: String(i + 1),
    parameters: { x: i / 10 },
    objective: (i / 10 - 0.2) ** 2,
  }));
  const next = (f: (x: number) => number, seed: number) =>
    Number(
      suggestTrial(
        space,
        [0.2, 0.15, 0.25, 0.3].map((v) => ({
          parameters: { x: v },
          state: 'SUCCEEDED' as const,
          objective: f(v),
        })),
        new Rng(seed),
        earlier,
      ).x,
    );

  it('stays at the earlier optimum when this run measures the same curve', () => {
    for (const seed of [1, 2, 3]) {
      const v = next((v) => (v - 0.2) ** 2 + 0.05, seed);
      assert.ok(Math.abs(v - 0.2) < 0.05, `seed ${seed}: ${v}`);
    }
  });

  it('leaves it when this run contradicts the earlier curve (one function, ρ = 1, stayed at 0.33)', () => {
    for (const seed of [1, 2, 3]) {
      const v = next((v) => (v - 0.8) ** 2, seed);
      assert.ok(v > 0.45, `seed ${seed}: ${v}`);
    }
  });
});
