import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BUILTIN_SPECS,
  bucketIndex,
  FeatureEncoder,
  featureLayout,
  parseSpec,
  SpecError,
  type ModelSpec,
} from '@bucketml/model';

const minimal = {
  name: 'houses',
  columns: ['price', 'rooms', 'city'],
  label: { name: 'price' },
  numeric: [{ name: 'rooms', min: 0 }],
  categorical: [{ name: 'city', vocabulary: ['a', 'b'] }],
  wide: ['city'],
  deep: ['rooms', 'city'],
};

function problemsOf(spec: unknown): string[] {
  try {
    parseSpec(spec);
  } catch (err) {
    assert.ok(err instanceof SpecError);
    return err.problems;
  }
  assert.fail('spec was accepted');
}

describe('model spec', () => {
  it('accepts a minimal user spec and fills default hyperparameters', () => {
    const spec = parseSpec(minimal);
    assert.equal(spec.hyperparameters.batchSize, 512);
    assert.deepEqual(spec.derived, []);
  });

  it('rejects bad specs naming the field at fault', () => {
    assert.deepEqual(problemsOf({ ...minimal, label: { name: 'price', min: 5, max: 1 } }), [
      'label: min (5) > max (1)',
    ]);
    assert.match(
      problemsOf({ ...minimal, wide: ['rooms'] }).join(),
      /wide\[0\]: "rooms" is not a categorical/,
    );
    assert.match(
      problemsOf({ ...minimal, deep: ['nope'] }).join(),
      /deep\[0\]: "nope" is not a declared feature/,
    );
    assert.match(
      problemsOf({ ...minimal, numeric: [{ name: 'size' }] }).join(),
      /"size" is used but not listed in columns/,
    );
    assert.match(
      problemsOf({ ...minimal, derived: [{ name: 'x', op: 'cube', inputs: ['rooms'] }] }).join(),
      /derived\[0\]\.op must be one of difference/,
    );
    assert.match(
      problemsOf({
        ...minimal,
        bucketized: [{ name: 'b', source: 'rooms', boundaries: [3, 1] }],
      }).join(),
      /bucketized\[0\]\.boundaries must be strictly increasing/,
    );
    assert.match(
      problemsOf({ ...minimal, hyperparameters: { batchSize: 0 } }).join(),
      /hyperparameters\.batchSize must be a positive integer/,
    );
    assert.match(
      problemsOf({ ...minimal, hyperparameters: { ensemble: 11 } }).join(),
      /hyperparameters\.ensemble must be an integer from 1 to 10/,
    );
    assert.match(
      problemsOf({ ...minimal, categorical: [{ name: 'city', vocabulary: [] }] }).join(),
      /categorical\[0\]\.vocabulary must list at least one value/,
    );
    assert.match(problemsOf('nope').join(), /spec must be a JSON object/);
  });

  it('expands {start, stop, step} boundaries like numpy.arange', () => {
    const age = BUILTIN_SPECS.babyweight.bucketized.find((b) => b.name === 'age_buckets')!;
    assert.equal(age.boundaries.length, 30);
    assert.equal(age.boundaries[0], 15);
    assert.equal(age.boundaries.at(-1), 44);
  });

  it('builds the course babyweight layout: 4 wide columns, exact 17,298-id cross', () => {
    const layout = featureLayout(BUILTIN_SPECS.babyweight);
    assert.deepEqual(
      layout.wide.map((w) => w.cardinality),
      [3, 6, 31, 31],
    );
    assert.deepEqual(layout.embed, [{ name: 'wide_cross', cardinality: 17298, offset: 0 }]);
    assert.deepEqual(layout.dense, ['mother_age', 'gestation_weeks']);
  });
});

describe('feature encoding', () => {
  const encoder = new FeatureEncoder(BUILTIN_SPECS.babyweight);
  const row = () => ({
    dense: new Float32Array(2),
    wide: new Int32Array(4),
    embed: new Int32Array(1),
  });
  const instance = { is_male: 'False', mother_age: 26, plurality: 'Twins(2)', gestation_weeks: 39 };

  it('bucketizes like TensorFlow: boundaries[i-1] <= x < boundaries[i]', () => {
    assert.equal(bucketIndex([15, 16, 17], 14.9), 0);
    assert.equal(bucketIndex([15, 16, 17], 15), 1);
    assert.equal(bucketIndex([15, 16, 17], 17), 3);
  });

  it('encodes ids with table offsets and an exact cross', () => {
    const out = row();
    assert.equal(
      encoder.encode((n) => (instance as Record<string, unknown>)[n], out, 0),
      null,
    );
    // is_male False = 1; plurality Twins = 1 (+3); age 26 → bucket 12 (+9); gestation 39 → bucket 23 (+40)
    assert.deepEqual([...out.wide], [1, 4, 21, 63]);
    assert.equal(out.embed[0], ((1 * 6 + 1) * 31 + 12) * 31 + 23);
    assert.deepEqual([...out.dense], [26, 39]);
  });

  it('gives a reason for each kind of invalid value', () => {
    const reason = (patch: Record<string, unknown>) =>
      encoder.encode((n) => ({ ...instance, ...patch })[n], row(), 0);
    assert.equal(
      reason({ is_male: 'Maybe' }),
      'is_male: "Maybe" is not one of True, False, Unknown',
    );
    assert.equal(reason({ mother_age: 'old' }), 'mother_age: "old" is not a number');
    assert.equal(reason({ mother_age: undefined }), 'mother_age: missing');
    assert.equal(reason({ gestation_weeks: 80 }), 'gestation_weeks: 80 is above the maximum 50');
    assert.equal(reason({ mother_age: '31' }), null, 'numeric strings are accepted');
  });

  it('hashes a cross into hashBuckets when the exact product is larger', () => {
    const spec: ModelSpec = parseSpec({
      ...minimal,
      columns: ['price', 'rooms', 'city', 'zone'],
      categorical: [
        { name: 'city', vocabulary: Array.from({ length: 100 }, (_, i) => `c${i}`) },
        { name: 'zone', vocabulary: Array.from({ length: 100 }, (_, i) => `z${i}`) },
      ],
      crosses: [{ name: 'city_zone', columns: ['city', 'zone'], hashBuckets: 500 }],
      deep: ['rooms', 'city_zone'],
    });
    const enc = new FeatureEncoder(spec);
    assert.equal(enc.layout.embedTableSize, 500);
    const seen = new Set<number>();
    const out = { dense: new Float32Array(1), wide: new Int32Array(1), embed: new Int32Array(1) };
    for (let c = 0; c < 100; c += 7) {
      for (let z = 0; z < 100; z += 3) {
        assert.equal(
          enc.encode((n) => ({ rooms: 3, city: `c${c}`, zone: `z${z}` })[n], out, 0),
          null,
        );
        assert.ok(out.embed[0] >= 0 && out.embed[0] < 500);
        seen.add(out.embed[0]);
      }
    }
    assert.ok(seen.size > 200, `hash spreads ids (${seen.size} distinct)`);
  });

  it('computes taxifare trip geometry (haversine distance in km)', () => {
    const taxi = new FeatureEncoder(BUILTIN_SPECS.taxifare);
    const out = { dense: new Float32Array(9), wide: new Int32Array(2), embed: new Int32Array(2) };
    // Times Square to JFK: ~21.6 km great-circle
    const trip = {
      pickuplon: -73.9855,
      pickuplat: 40.758,
      dropofflon: -73.7781,
      dropofflat: 40.6413,
      passengers: 1,
    };
    assert.equal(
      taxi.encode((n) => (trip as Record<string, unknown>)[n], out, 0),
      null,
    );
    const km = out.dense[taxi.layout.dense.indexOf('distance_km')];
    assert.ok(Math.abs(km - 21.6) < 0.3, `distance_km ${km}`);
  });
});
