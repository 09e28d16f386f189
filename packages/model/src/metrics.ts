/**
 * @module metrics
 * The metric models are judged by: what training reports and the deploy gate compares.
 */
/** Root mean squared error of predictions against labels. */
export function rmse(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predictions.length !== labels.length || labels.length === 0) {
    throw new Error(
      `rmse needs equal, non-empty inputs (got ${predictions.length} and ${labels.length})`,
    );
  }
  let se = 0;
  for (let i = 0; i < labels.length; i++) se += (predictions[i] - labels[i]) ** 2;
  return Math.sqrt(se / labels.length);
}
