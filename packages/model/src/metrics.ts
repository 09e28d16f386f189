/**
 * @module metrics
 * The metrics models are judged by: what training reports to the hypertune file, keeps its best
 * weights by, and the deploy gate compares. Regression: rmse. Classification (class
 * probabilities against class indices): logloss, accuracy, auc (binary: the positive class's
 * ROC AUC) or f1_macro (multiclass), and the confusion matrix. The tags and their goals are
 * the contracts package's (REPORTED_METRICS); the functions live here, next to the predictor.
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

/** Probabilities are clipped here before the log, as scikit-learn's log_loss does. */
const EPS = 1e-15;

/**
 * Classification metrics of row-major class probabilities ([rows × classes]) against class
 * indices. Binary models are given both columns (1 − p, p).
 */
export function classificationMetrics(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): { values: Record<string, number>; confusion: number[][] } {
  const n = labels.length;
  if (n === 0 || probabilities.length !== n * classes)
    throw new Error(
      `classification metrics need ${classes} probabilities per row (got ${probabilities.length} for ${n} rows)`,
    );
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    let argmax = 0;
    for (let c = 1; c < classes; c++)
      if (probabilities[r * classes + c] > probabilities[r * classes + argmax]) argmax = c;
    confusion[y][argmax]++;
    if (argmax === y) correct++;
    loss -= Math.log(Math.min(1 - EPS, Math.max(EPS, probabilities[r * classes + y])));
  }
  const values: Record<string, number> = { logloss: loss / n, accuracy: correct / n };
  if (classes === 2) {
    const scores = Array.from({ length: n }, (_, r) => probabilities[r * 2 + 1]);
    values.auc = rocAuc(scores, Array.from(labels));
  } else values.f1_macro = macroF1(confusion);
  return { values, confusion };
}

/** ROC AUC of scores for the positive class (label 1): the Mann–Whitney U, ties counted half. */
export function rocAuc(scores: number[], labels: number[]): number {
  const order = scores.map((s, i) => [s, labels[i]] as const).sort((a, b) => a[0] - b[0]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j][0] === order[i][0]) j++;
    const midRank = (i + 1 + j) / 2; // ranks are 1-based; ties share their mean rank
    for (let k = i; k < j; k++)
      if (order[k][1] === 1) {
        positives++;
        rankSum += midRank;
      }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return 0.5; // undefined; scikit-learn raises
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * The unweighted mean of each class's F1, over the classes present or predicted (as
 * scikit-learn's f1_score(average='macro') does: a class absent from both is not counted).
 */
export function macroF1(confusion: number[][]): number {
  const k = confusion.length;
  let sum = 0;
  let counted = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c][c];
    let predicted = 0;
    let actual = 0;
    for (let j = 0; j < k; j++) {
      predicted += confusion[j][c];
      actual += confusion[c][j];
    }
    if (predicted + actual === 0) continue;
    sum += (2 * tp) / (predicted + actual);
    counted++;
  }
  return counted === 0 ? 0 : sum / counted;
}
