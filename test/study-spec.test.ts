import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  COURSE_HYPERPARAM_YAML,
  fromUnit,
  parseStudyDocument,
  StudySpecError,
  analyzeTrials,
  formatReport,
  toVertexTuningJob,
  fromVertexTuningJob,
  checkStudyForProblem,
  defaultStudyFor,
} from '@bucketml/tuning';
import { defaultHyperparameters } from '@bucketml/model';

function problems(yaml: string): string {
  try {
    parseStudyDocument(yaml);
  } catch (err) {
    assert.ok(err instanceof StudySpecError, String(err));
    return err.problems.join('\n');
  }
  assert.fail('accepted');
}

const withParam = (param: string, hp = 'maxTrials: 4\n    maxParallelTrials: 2') => `trainingInput:
  hyperparameters:
    goal: MINIMIZE
    ${hp}
    params:
    - ${param}
`;

describe('study spec (the course hyperparam.yaml)', () => {
  it('parses the course spec', () => {
    const s = parseStudyDocument(COURSE_HYPERPARAM_YAML);
    assert.equal(s.goal, 'MINIMIZE');
    assert.equal(s.metricTag, 'rmse');
    assert.equal(s.maxTrials, 20);
    assert.equal(s.maxParallelTrials, 5);
    assert.equal(s.enableTrialEarlyStopping, true);
    assert.equal(s.scaleTier, 'STANDARD_1');
    assert.deepEqual(s.params[0], {
      name: 'batch_size',
      type: 'INTEGER',
      min: 8,
      max: 512,
      scale: 'UNIT_LOG_SCALE',
    });
    assert.deepEqual(s.finalArgs, s.args);
  });

  it('parses every field of the course format, and round-trips course → Vertex → course without loss', () => {
    const full = `trainingInput:
  scaleTier: PREMIUM_1
  args: ["--train_examples=20000", "--eval_steps=10"]
  hyperparameters:
    goal: MINIMIZE
    hyperparameterMetricTag: rmse
    maxTrials: 30
    maxParallelTrials: 3
    maxFailedTrials: 4
    enableTrialEarlyStopping: True
    algorithm: RANDOM_SEARCH
    params:
    - {parameterName: batch_size, type: INTEGER, minValue: 8, maxValue: 512, scaleType: UNIT_LOG_SCALE}
    - {parameterName: learning_rate, type: DOUBLE, minValue: 0.0001, maxValue: 0.1, scaleType: UNIT_REVERSE_LOG_SCALE}
    - {parameterName: dropout, type: DOUBLE, minValue: 0, maxValue: 0.5, scaleType: UNIT_LINEAR_SCALE}
    - {parameterName: optimizer, type: CATEGORICAL, categoricalValues: [adam, sgd]}
    - {parameterName: nembeds, type: DISCRETE, discreteValues: [3, 10, 30]}
`;
    const course = parseStudyDocument(full);
    assert.equal(course.scaleTier, 'PREMIUM_1');
    assert.equal(course.goal, 'MINIMIZE');
    assert.equal(course.metricTag, 'rmse');
    assert.equal(course.maxFailedTrials, 4);
    assert.equal(course.algorithm, 'RANDOM_SEARCH');
    assert.deepEqual(course.args, ['--train_examples=20000', '--eval_steps=10']);
    assert.deepEqual(
      course.params.map((p) => p.type),
      ['INTEGER', 'DOUBLE', 'DOUBLE', 'CATEGORICAL', 'DISCRETE'],
    );
    const vertex = toVertexTuningJob(course, 'gcr.io/p/trainer');
    assert.deepEqual(vertex.studySpec.metrics, [{ metricId: 'rmse', goal: 'MINIMIZE' }]);
    assert.deepEqual(vertex.studySpec.parameters[0], {
      parameterId: 'batch_size',
      integerValueSpec: { minValue: 8, maxValue: 512 },
      scaleType: 'UNIT_LOG_SCALE',
    });
    assert.deepEqual(vertex.studySpec.medianAutomatedStoppingSpec, { useElapsedDuration: false });
    assert.equal(vertex.parallelTrialCount, 3);
    assert.deepEqual(vertex.trialJobSpec.workerPoolSpecs[0].containerSpec, {
      imageUri: 'gcr.io/p/trainer',
      args: course.args,
    });
    assert.deepEqual(fromVertexTuningJob(vertex), course);
    // The Vertex form is accepted as a document too (JSON is YAML).
    assert.deepEqual(parseStudyDocument(JSON.stringify(vertex)), course);
  });

  it('rejects bad Vertex-form specs naming the field', () => {
    const vertex = toVertexTuningJob(parseStudyDocument(COURSE_HYPERPARAM_YAML));
    const bad = structuredClone(vertex);
    bad.studySpec.parameters[0].integerValueSpec = { minValue: 0, maxValue: 512 };
    assert.throws(
      () => fromVertexTuningJob(bad),
      /studySpec\.parameters\[0\]: UNIT_LOG_SCALE needs minValue > 0/,
    );
    assert.throws(
      () => fromVertexTuningJob({ ...vertex, parallelTrialCount: 50 }),
      /parallelTrialCount \(50\) > maxTrialCount \(20\)/,
    );
    assert.throws(() => parseStudyDocument('{"foo": 1}'), /expected the course form/);
  });

  it('rejects bad specs naming the field', () => {
    assert.match(
      problems(withParam('{parameterName: lr, type: DOUBLE, minValue: 2, maxValue: 1}')),
      /params\[0\]: minValue \(2\) > maxValue \(1\)/,
    );
    assert.match(
      problems(
        withParam(
          '{parameterName: lr, type: DOUBLE, minValue: 0, maxValue: 1, scaleType: UNIT_LOG_SCALE}',
        ),
      ),
      /UNIT_LOG_SCALE needs minValue > 0/,
    );
    assert.match(
      problems(withParam('{parameterName: lr, type: FLOAT, minValue: 0, maxValue: 1}')),
      /params\[0\]\.type must be one of INTEGER, DOUBLE, CATEGORICAL, DISCRETE \(got "FLOAT"\)/,
    );
    assert.match(
      problems(
        withParam(
          '{parameterName: n, type: INTEGER, minValue: 1, maxValue: 9}',
          'maxTrials: 2\n    maxParallelTrials: 3',
        ),
      ),
      /maxParallelTrials \(3\) > maxTrials \(2\)/,
    );
    assert.match(problems('trainingInput: [1'), /not valid YAML/);
  });

  it('a study without metric tag and goal tunes on the metric the trainer reports (rmse, MINIMIZE)', () => {
    const s = parseStudyDocument(`trainingInput:
  hyperparameters:
    maxTrials: 2
    params:
    - {parameterName: batch_size, type: INTEGER, minValue: 8, maxValue: 64}
`);
    assert.equal(s.metricTag, 'rmse');
    assert.equal(s.goal, 'MINIMIZE');
    const vertex = toVertexTuningJob(s);
    delete (vertex.studySpec.metrics[0] as { goal?: string }).goal;
    assert.equal(fromVertexTuningJob(vertex).goal, 'MINIMIZE');
  });

  it('refuses a metric tag the trainer does not report, or a goal that does not suit it, naming the field', () => {
    const tagged = (tag: string, goal = 'MINIMIZE') => `trainingInput:
  hyperparameters:
    goal: ${goal}
    hyperparameterMetricTag: ${tag}
    params:
    - {parameterName: batch_size, type: INTEGER, minValue: 8, maxValue: 64}
`;
    assert.match(
      problems(tagged('training/hptuning/metric')),
      /trainingInput\.hyperparameters\.hyperparameterMetricTag: the trainer reports rmse, logloss, accuracy, auc, f1_macro, not "training\/hptuning\/metric"/,
    );
    assert.match(
      problems(tagged('rmse', 'MAXIMIZE')),
      /trainingInput\.hyperparameters\.goal is MAXIMIZE, but rmse is better when lower: use MINIMIZE/,
    );
    const vertex = toVertexTuningJob(parseStudyDocument(COURSE_HYPERPARAM_YAML));
    vertex.studySpec.metrics[0].metricId = 'mse';
    assert.throws(
      () => fromVertexTuningJob(vertex),
      /studySpec\.metrics\[0\]\.metricId: the trainer reports rmse, logloss, accuracy, auc, f1_macro, not "mse"/,
    );
    // A tag some problem type reports is checked against the model's once it is known.
    const accuracy = { ...parseStudyDocument(COURSE_HYPERPARAM_YAML), metricTag: 'accuracy' };
    assert.throws(
      () => checkStudyForProblem(accuracy, 'regression'),
      /reports rmse for a regression model, not "accuracy"/,
    );
    checkStudyForProblem(accuracy, 'multiclass');
    const weighted = {
      ...parseStudyDocument(COURSE_HYPERPARAM_YAML),
      params: [
        {
          name: 'class_weights',
          type: 'CATEGORICAL' as const,
          categoricalValues: ['none', 'balanced'],
        },
      ],
    };
    assert.throws(
      () => checkStudyForProblem(weighted, 'regression'),
      /params: class_weights weighs the classes of a categorical label/,
    );
    checkStudyForProblem({ ...weighted, metricTag: 'logloss', goal: 'MINIMIZE' }, 'binary');
    assert.throws(
      () => checkStudyForProblem({ ...accuracy, metricTag: 'auc' }, 'multiclass'),
      /reports logloss, accuracy, f1_macro for a multiclass classification model, not "auc"/,
    );
    assert.throws(
      () => checkStudyForProblem({ ...accuracy, metricTag: 'rmse' }, 'binary'),
      /\(the default when a study names no metric\): name one, e.g. hyperparameterMetricTag: logloss/,
    );
  });

  it('refuses a study of more than 1000 trials, naming the field', () => {
    assert.match(
      problems(
        withParam(
          '{parameterName: n, type: INTEGER, minValue: 1, maxValue: 9}',
          'maxTrials: 10000\n    maxParallelTrials: 24',
        ),
      ),
      /trainingInput\.hyperparameters\.maxTrials is 10000; a study runs at most 1000 trials/,
    );
  });

  it('refuses study args that set a flag the training backend sets (output, data, model, seed)', () => {
    const withArgs = (args: string) => `trainingInput:
  args: ${args}
  hyperparameters:
    params:
    - {parameterName: batch_size, type: INTEGER, minValue: 8, maxValue: 64}
`;
    assert.match(
      problems(withArgs('["--train_examples=100", "--output_dir=/tmp/x"]')),
      /trainingInput\.args may not set --output-dir/,
    );
    assert.match(
      problems(withArgs('["--train-data", "/etc/passwd", "--model=x"]')),
      /trainingInput\.args may not set --train-data, --model/,
    ); // finalArgs (the final training's flags) are held to the same rule.
    assert.match(
      problems(`trainingInput:
  finalArgs: ["--eval_data=/etc/shadow", "--seed=1"]
  hyperparameters:
    params:
    - {parameterName: batch_size, type: INTEGER, minValue: 8, maxValue: 64}
`),
      /trainingInput\.finalArgs may not set --eval-data, --seed/,
    );
  });

  it('holds the Vertex form to the same rules as the course form', () => {
    const vertex = toVertexTuningJob(parseStudyDocument(COURSE_HYPERPARAM_YAML));
    const repeated = structuredClone(vertex);
    repeated.studySpec.parameters[1].parameterId = 'batch_size';
    assert.throws(
      () => fromVertexTuningJob(repeated),
      /studySpec\.parameters\[1\]: parameter name "batch_size" is repeated/,
    );
    const grid = structuredClone(vertex);
    grid.studySpec.algorithm = 'GRID_SEARCH';
    grid.studySpec.parameters[0] = {
      parameterId: 'lr',
      doubleValueSpec: { minValue: 0.1, maxValue: 1 },
    };
    assert.throws(
      () => fromVertexTuningJob(grid),
      /GRID_SEARCH needs INTEGER, CATEGORICAL or DISCRETE parameters \(lr is DOUBLE\)/,
    );
    assert.throws(
      () =>
        fromVertexTuningJob({
          ...vertex,
          studySpec: { ...vertex.studySpec, algorithm: 'ANNEALING' },
        }),
      /studySpec\.algorithm must be one of/,
    );
    assert.throws(
      () => fromVertexTuningJob({ ...vertex, maxFailedTrialCount: -1 }),
      /maxFailedTrialCount must be a non-negative integer/,
    );
    const ints = structuredClone(vertex);
    ints.studySpec.parameters[0].integerValueSpec = { minValue: 1.5, maxValue: 4 };
    assert.throws(() => fromVertexTuningJob(ints), /INTEGER bounds must be integers/);
  });

  it('samples every value type within its range and scale', () => {
    const int = {
      name: 'n',
      type: 'INTEGER' as const,
      min: 8,
      max: 512,
      scale: 'UNIT_LOG_SCALE' as const,
    };
    assert.equal(fromUnit(int, 0), 8);
    assert.equal(fromUnit(int, 0.999999), 512);
    assert.equal(fromUnit(int, 0.5), 64);
    assert.equal(
      fromUnit({ name: 'c', type: 'CATEGORICAL', categoricalValues: ['a', 'b'] }, 0.7),
      'b',
    );
    assert.equal(fromUnit({ name: 'd', type: 'DISCRETE', discreteValues: [4, 1, 2] }, 0.1), 1);
    const lin = { name: 'k', type: 'INTEGER' as const, min: 3, max: 5 };
    assert.deepEqual(
      [0, 0.34, 0.99].map((u) => fromUnit(lin, u)),
      [3, 4, 5],
    );
  });

  it('sorts trials by objective with failed ones last and picks the best', () => {
    const report = analyzeTrials(
      [
        { id: '1', state: 'SUCCEEDED', objective: 1.2, parameters: { n: 1 } },
        { id: '2', state: 'FAILED', parameters: { n: 2 }, error: 'boom' },
        { id: '3', state: 'SUCCEEDED', objective: 1.1, parameters: { n: 3 } },
      ],
      'MINIMIZE',
      'rmse',
    );
    assert.deepEqual(
      report.trials.map((t) => t.id),
      ['3', '1', '2'],
    );
    assert.equal(report.best?.id, '3');
    assert.match(formatReport(report), /best: trial 3, rmse 1\.10000/);
  });

  it("the default study: a regressor's tunes the hidden layer's width, a classifier's keeps the spec's layers and tunes log loss", () => {
    const hp = defaultHyperparameters(8000);
    const names = (problem?: 'regression' | 'binary' | 'multiclass') =>
      defaultStudyFor(hp, problem).params.map((p) => p.name);
    assert.deepEqual(names(), ['learning_rate', 'batch_size', 'nnsize', 'nembeds']);
    for (const problem of ['binary', 'multiclass'] as const) {
      assert.deepEqual(names(problem), ['learning_rate', 'batch_size', 'nembeds']);
      assert.deepEqual(
        [defaultStudyFor(hp, problem).metricTag, defaultStudyFor(hp, problem).goal],
        ['logloss', 'MINIMIZE'],
      );
    }
  });
});
