/**
 * @module builtin-specs
 * The course's two models, babyweight and taxifare, as built-in specs: a drop under
 * data/babyweight/ or data/taxifare/ needs no config/<model>/schema.json.
 */
import { parseSpec, type ModelSpec } from './spec.js';

/**
 * The course's babyweight wide & deep model: sparse columns (sex, plurality, bucketized age and
 * gestation) are wide; their full cross, embedded in `nembeds` dimensions, plus the raw numeric
 * columns are deep. The cross is exact (3·6·31·31 = 17,298 ids ≤ the course's 20,000 buckets).
 */
const babyweight = {
  name: 'babyweight',
  description:
    'Birth weight in pounds from what is known before birth (course: babyweight, wide & deep).',
  columns: ['weight_pounds', 'is_male', 'mother_age', 'plurality', 'gestation_weeks', 'key'],
  label: { name: 'weight_pounds', min: 0.1, max: 25 },
  key: 'key',
  numeric: [
    { name: 'mother_age', min: 10, max: 70 },
    { name: 'gestation_weeks', min: 15, max: 50 },
  ],
  categorical: [
    { name: 'is_male', vocabulary: ['True', 'False', 'Unknown'] },
    {
      name: 'plurality',
      vocabulary: [
        'Single(1)',
        'Twins(2)',
        'Triplets(3)',
        'Quadruplets(4)',
        'Quintuplets(5)',
        'Multiple(2+)',
      ],
    },
  ],
  bucketized: [
    { name: 'age_buckets', source: 'mother_age', boundaries: { start: 15, stop: 45, step: 1 } },
    {
      name: 'gestation_buckets',
      source: 'gestation_weeks',
      boundaries: { start: 17, stop: 47, step: 1 },
    },
  ],
  crosses: [
    {
      name: 'wide_cross',
      columns: ['is_male', 'plurality', 'age_buckets', 'gestation_buckets'],
      hashBuckets: 20000,
    },
  ],
  wide: ['is_male', 'plurality', 'age_buckets', 'gestation_buckets'],
  deep: ['mother_age', 'gestation_weeks', 'wide_cross'],
  hyperparameters: {
    batchSize: 512,
    nnsize: [64, 32],
    nembeds: 3,
    learningRate: 0.01,
    trainExamples: 100_000,

    ensemble: 3,
  },
};

const nycLat = { start: 40.6, stop: 40.9, step: 0.025 };
const nycLon = { start: -74.1, stop: -73.7, step: 0.025 };

/**
 * NYC taxi fare. The course shows raw coordinates make a poor model, so the spec adds trip
 * geometry (coordinate differences, euclidean and great-circle distance) and pickup/dropoff
 * grid cells (bucketized lat/lon crossed) that capture fixed-fare zones such as airports.
 */
const taxifare = {
  name: 'taxifare',
  description:
    'NYC taxi fare in US dollars from pickup/dropoff coordinates and passenger count (course: taxifare).',
  columns: [
    'fare_amount',
    'pickuplon',
    'pickuplat',
    'dropofflon',
    'dropofflat',
    'passengers',
    'key',
  ],
  label: { name: 'fare_amount', min: 0, max: 500 },
  key: 'key',
  numeric: [
    { name: 'pickuplon', min: -78, max: -70 },
    { name: 'pickuplat', min: 37, max: 45 },
    { name: 'dropofflon', min: -78, max: -70 },
    { name: 'dropofflat', min: 37, max: 45 },
    { name: 'passengers', min: 0, max: 9 },
  ],
  categorical: [],
  derived: [
    { name: 'latdiff', op: 'difference', inputs: ['dropofflat', 'pickuplat'] },
    { name: 'londiff', op: 'difference', inputs: ['dropofflon', 'pickuplon'] },
    {
      name: 'euclidean',
      op: 'euclidean',
      inputs: ['pickuplon', 'pickuplat', 'dropofflon', 'dropofflat'],
    },
    {
      name: 'distance_km',
      op: 'haversine_km',
      inputs: ['pickuplon', 'pickuplat', 'dropofflon', 'dropofflat'],
    },
  ],
  bucketized: [
    { name: 'pickup_lat_bucket', source: 'pickuplat', boundaries: nycLat },
    { name: 'pickup_lon_bucket', source: 'pickuplon', boundaries: nycLon },
    { name: 'dropoff_lat_bucket', source: 'dropofflat', boundaries: nycLat },
    { name: 'dropoff_lon_bucket', source: 'dropofflon', boundaries: nycLon },
  ],
  crosses: [
    { name: 'pickup_cell', columns: ['pickup_lat_bucket', 'pickup_lon_bucket'] },
    { name: 'dropoff_cell', columns: ['dropoff_lat_bucket', 'dropoff_lon_bucket'] },
  ],
  wide: ['pickup_cell', 'dropoff_cell'],
  deep: [
    'pickuplon',
    'pickuplat',
    'dropofflon',
    'dropofflat',
    'passengers',
    'latdiff',
    'londiff',
    'euclidean',
    'distance_km',
    'pickup_cell',
    'dropoff_cell',
  ],
  hyperparameters: {
    batchSize: 256,
    nnsize: [64, 32],
    nembeds: 4,
    learningRate: 0.005,
    trainExamples: 50_000,

    ensemble: 3,
  },
};

export const BUILTIN_SPECS: Readonly<Record<string, ModelSpec>> = {
  babyweight: parseSpec(babyweight),
  taxifare: parseSpec(taxifare),
};
