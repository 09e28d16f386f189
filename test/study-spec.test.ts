import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COURSE_HYPERPARAM_YAML, fromUnit, parseStudyYaml, StudySpecError, analyzeTrials, formatReport } from '@bucketml/tuning';

function problems(yaml: string): string {
  try {
    parseStudyYaml(yaml);
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
    const s = parseStudyYaml(COURSE_HYPERPARAM_YAML);
    assert.equal(s.goal, 'MINIMIZE');
    assert.equal(s.metricTag, 'rmse');
    assert.equal(s.maxTrials, 20);
    assert.equal(s.maxParallelTrials, 5);
    assert.equal(s.enableTrialEarlyStopping, true);
    assert.equal(s.scaleTier, 'STANDARD_1');
    assert.deepEqual(s.params[0], { name: 'batch_size', type: 'INTEGER', min: 8, max: 512, scale: 'UNIT_LOG_SCALE' });
    assert.deepEqual(s.finalArgs, s.args);
  });

  it('rejects bad specs naming the field', () => {
    assert.match(problems(withParam('{parameterName: lr, type: DOUBLE, minValue: 2, maxValue: 1}')), /params\[0\]: minValue \(2\) > maxValue \(1\)/);
    assert.match(problems(withParam('{parameterName: lr, type: DOUBLE, minValue: 0, maxValue: 1, scaleType: UNIT_LOG_SCALE}')), /UNIT_LOG_SCALE needs minValue > 0/);
    assert.match(problems(withParam('{parameterName: lr, type: FLOAT, minValue: 0, maxValue: 1}')), /params\[0\]\.type must be one of INTEGER, DOUBLE, CATEGORICAL, DISCRETE \(got "FLOAT"\)/);
    assert.match(problems(withParam('{parameterName: n, type: INTEGER, minValue: 1, maxValue: 9}', 'maxTrials: 2\n    maxParallelTrials: 3')), /maxParallelTrials \(3\) > maxTrials \(2\)/);
    assert.match(problems('trainingInput: [1'), /not valid YAML/);
  });

  it('samples every value type within its range and scale', () => {
    const int = { name: 'n', type: 'INTEGER' as const, min: 8, max: 512, scale: 'UNIT_LOG_SCALE' as const };
    assert.equal(fromUnit(int, 0), 8);
    assert.equal(fromUnit(int, 0.999999), 512);
    assert.equal(fromUnit(int, 0.5), 64);
    assert.equal(fromUnit({ name: 'c', type: 'CATEGORICAL', categoricalValues: ['a', 'b'] }, 0.7), 'b');
    assert.equal(fromUnit({ name: 'd', type: 'DISCRETE', discreteValues: [4, 1, 2] }, 0.1), 1);
    const lin = { name: 'k', type: 'INTEGER' as const, min: 3, max: 5 };
    assert.deepEqual([0, 0.34, 0.99].map((u) => fromUnit(lin, u)), [3, 4, 5]);
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
    assert.deepEqual(report.trials.map((t) => t.id), ['3', '1', '2']);
    assert.equal(report.best?.id, '3');
    assert.match(formatReport(report), /best: trial 3, rmse 1\.10000/);
  });
});
