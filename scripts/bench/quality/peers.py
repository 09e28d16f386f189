#!/usr/bin/python3
"""Peers of `npm run bench -- quality`: tuned XGBoost, scikit-learn's HistGradientBoosting and,
for classification, logistic regression on one-hot features, on the tables of tables.json.

Protocol (printed at start):
  * train on train.csv;
  * split eval.csv by a fixed seeded permutation (numpy RandomState(SPLIT_SEED)) into a tune
    half (the first floor(n/2) of the permutation) and a score half (the rest); each half keeps
    the file's row order. --splits-dir writes them as CSV, byte-for-byte the eval file's lines
    (with its header row, if any), so that another system is scored on the very same rows;
  * tune on the tune half only: every configuration is trained on train.csv, its number of
    boosting rounds chosen by early stopping on the tune half, and the configuration with the
    best tune-half objective (RMSE; log loss for classification) wins;
  * score the winner once on the score half: RMSE (regression); log loss, accuracy and AUC
    (binary) or macro-F1 (multiclass) (classification).
  XGBoost: random search of XGB_TRIALS (10): trial 0 = XGBoost's defaults (max_depth 6, eta 0.3,
    min_child_weight 1, subsample 1, colsample_bytree 1), then draws of max_depth (3-10),
    learning_rate (0.04-0.3, log), min_child_weight (1-30, log), subsample (0.6-1),
    colsample_bytree (0.5-1); n_estimators up to 1000 with early stopping (30 rounds) on the
    tune half. hist trees, native categorical support.
  HistGradientBoosting: random search of HGB_TRIALS (6) over learning_rate, max_leaf_nodes,
    min_samples_leaf, l2_regularization (trial 0 = sklearn's defaults); up to 1000 rounds with
    early stopping (30 rounds) on the tune half (grown 30 rounds at a time with warm_start, the
    best round found from staged predictions; sklearn's own early stopping is off). Native
    categorical support (see features below).
  Logistic regression (classification only): C from a grid, chosen by tune-half log loss.
Features (all peers): categorical columns as categories (the training file's categories;
  unseen ones become missing), date columns expanded to year, month, dayofweek, dayofyear, hour
  (the original dropped), missing as NaN (only an empty cell is missing: "NA", "None" and
  "Unknown" are categories). HistGradientBoosting takes at most 255 categories per column: a
  column with more keeps its 254 most frequent training categories and maps the rest to one
  "other" category. Logistic regression: numeric columns median-imputed with missing
  indicators and standardized, categorical columns one-hot with missing as its own category.
  Table "engineered": "taxifare" adds the course's trip geometry features, as the builtin
  taxifare model does: latdiff, londiff, euclidean (degrees) and distance_km (haversine).
Output: one JSON object per table per peer on stdout, e.g. {"table", "peer", "task", "rmse",
  "seconds", "params", ...}; progress on stderr. `seconds` is the peer's whole tuning run on the
  table (all trials, on THREADS threads).

  /usr/bin/python3 scripts/bench/quality/peers.py [--tables a,b] [--peers xgboost,hgb,logreg]
      [--splits-dir DIR] [--splits-only] [--out DIR]
Needs Debian's python3-xgboost, python3-sklearn, python3-pandas (quality.ts installs them).
"""
import argparse
import json
import math
import os
import sys
import time

THREADS = int(os.environ.get('BENCH_THREADS', '2'))
# OpenMP (xgboost, scikit-learn) spin-waits by default: on a busy 2-core machine that makes
# HistGradientBoosting 10-20× slower. Set before numpy/sklearn/xgboost load.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
os.environ.setdefault('OMP_NUM_THREADS', str(THREADS))

import numpy as np
import pandas as pd

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SPLIT_SEED = 20240601
SEARCH_SEED = 7
XGB_TRIALS = int(os.environ.get('BENCH_XGB_TRIALS', '10'))
HGB_TRIALS = int(os.environ.get('BENCH_HGB_TRIALS', '6'))
XGB_MAX_ROUNDS = 1000
XGB_PATIENCE = 30
HGB_MAX_ITER = 1000
HGB_STEP = 30
HGB_PATIENCE = 30
HGB_MAX_CATEGORIES = 255
LOGREG_C = [0.01, 0.1, 1.0, 10.0]
DATE_PARTS = ['year', 'month', 'dayofweek', 'dayofyear', 'hour']


def say(*args):
    print(*args, file=sys.stderr, flush=True)


def protocol_text():
    return (__doc__.split('Protocol (printed at start):')[1].split('\n  /usr/bin/python3')[0]).rstrip()


# ---------- data ----------

def load_tables(names=None):
    with open(os.path.join(os.path.dirname(__file__), 'tables.json')) as f:
        tables = json.load(f)['tables']
    if names:
        unknown = set(names) - {t['name'] for t in tables}
        if unknown:
            sys.exit(f'unknown table(s): {", ".join(sorted(unknown))}')
        tables = [t for t in tables if t['name'] in names]
    return tables


def read_csv(table, path):
    opts = dict(keep_default_na=False, na_values=[''], dtype=str)
    if table['header']:
        return pd.read_csv(path, **opts)
    return pd.read_csv(path, header=None, names=table['columns'], **opts)


def eval_halves(table):
    """(tune, score) row indices of the eval file, and its raw lines (header, rows)."""
    path = os.path.join(ROOT, table['eval'])
    with open(path, newline='') as f:
        lines = f.read().splitlines(keepends=True)
    header, rows = (lines[:1], lines[1:]) if table['header'] else ([], lines)
    n = len(rows)
    perm = np.random.RandomState(SPLIT_SEED).permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2:]), header, rows


def write_splits(table, directory):
    tune, score, header, rows = eval_halves(table)
    out = os.path.join(directory, table['name'])
    os.makedirs(out, exist_ok=True)
    for name, idx in (('tune', tune), ('score', score)):
        with open(os.path.join(out, f'{name}.csv'), 'w', newline='') as f:
            f.writelines(header + [rows[i] if rows[i].endswith('\n') else rows[i] + '\n' for i in idx])
    return {'tune': os.path.join(out, 'tune.csv'), 'score': os.path.join(out, 'score.csv'), 'tuneRows': len(tune), 'scoreRows': len(score)}


def haversine_km(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = (np.radians(x) for x in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def features(table, df, categories):
    """Feature frame: numeric float columns, categorical columns as pandas categories."""
    label, cats, dates = table['label'], set(table['categorical']), set(table['dates'])
    out = {}
    for col in df.columns:
        if col == label or col in table['drop']:
            continue
        if col in cats:
            out[col] = pd.Categorical(df[col], categories=categories[col])
        elif col in dates:
            d = pd.to_datetime(df[col], errors='coerce')
            for part in DATE_PARTS:
                out[f'{col}_{part}'] = getattr(d.dt, part).astype(float)
        else:
            out[col] = pd.to_numeric(df[col], errors='coerce').astype(float)
    X = pd.DataFrame(out, index=df.index)
    if table.get('engineered') == 'taxifare':
        X['latdiff'] = X['dropofflat'] - X['pickuplat']
        X['londiff'] = X['dropofflon'] - X['pickuplon']
        X['euclidean'] = np.sqrt(X['latdiff'] ** 2 + X['londiff'] ** 2)
        X['distance_km'] = haversine_km(X['pickuplon'], X['pickuplat'], X['dropofflon'], X['dropofflat'])
    return X


def prepare(table):
    train = read_csv(table, os.path.join(ROOT, table['train']))
    ev = read_csv(table, os.path.join(ROOT, table['eval']))
    tune_idx, score_idx, _, rows = eval_halves(table)
    if len(rows) != len(ev):
        sys.exit(f'{table["name"]}: {len(rows)} eval lines but {len(ev)} parsed rows (a quoted newline?)')
    label = table['label']
    for name, df in (('train', train), ('eval', ev)):
        if df[label].isna().any():
            sys.exit(f'{table["name"]}: {name} has rows without a label')
    categories = {c: sorted(train[c].dropna().unique().tolist()) for c in table['categorical']}
    Xtr, Xev = features(table, train, categories), features(table, ev, categories)
    if table['task'] == 'regression':
        ytr = train[label].astype(float).to_numpy()
        yev = ev[label].astype(float).to_numpy()
        classes = None
    else:
        classes = sorted(train[label].unique().tolist())
        index = {c: i for i, c in enumerate(classes)}
        known = ev[label].isin(index).to_numpy()
        if not known.all():
            say(f'  {table["name"]}: {(~known).sum()} eval rows have a class not in train; they are left out')
        keep = np.flatnonzero(known)
        tune_idx, score_idx = np.intersect1d(tune_idx, keep), np.intersect1d(score_idx, keep)
        ytr = train[label].map(index).to_numpy()
        yev = ev[label].map(index).fillna(-1).astype(int).to_numpy()
    return {
        'Xtr': Xtr, 'ytr': ytr,
        'Xtune': Xev.iloc[tune_idx].reset_index(drop=True), 'ytune': yev[tune_idx],
        'Xscore': Xev.iloc[score_idx].reset_index(drop=True), 'yscore': yev[score_idx],
        'classes': classes,
    }


# ---------- metrics ----------

def rmse(y, p):
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(p, float)) ** 2)))


def objective(task, y, pred, n_classes=None):
    """The tuned quantity, lower is better: RMSE, or log loss on predicted probabilities."""
    if task == 'regression':
        return rmse(y, pred)
    from sklearn.metrics import log_loss
    return float(log_loss(y, pred, labels=list(range(n_classes))))


def score_metrics(task, y, pred, n_classes=None):
    if task == 'regression':
        return {'rmse': round(rmse(y, pred), 6)}
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
    pred = np.asarray(pred)
    m = {
        'logloss': round(float(log_loss(y, pred, labels=list(range(n_classes)))), 6),
        'accuracy': round(float(accuracy_score(y, pred.argmax(1))), 6),
    }
    if n_classes == 2:
        m['auc'] = round(float(roc_auc_score(y, pred[:, 1])), 6)
    else:
        m['macro_f1'] = round(float(f1_score(y, pred.argmax(1), labels=list(range(n_classes)), average='macro', zero_division=0)), 6)
    return m


# ---------- peers ----------

def xgb_draws(rng, n):
    yield {'max_depth': 6, 'learning_rate': 0.3, 'min_child_weight': 1.0, 'subsample': 1.0, 'colsample_bytree': 1.0}
    for _ in range(n - 1):
        yield {
            'max_depth': int(rng.choice([3, 4, 5, 6, 8, 10])),
            'learning_rate': float(round(math.exp(rng.uniform(math.log(0.04), math.log(0.3))), 4)),
            'min_child_weight': float(round(math.exp(rng.uniform(0, math.log(30))), 3)),
            'subsample': float(round(rng.uniform(0.6, 1.0), 3)),
            'colsample_bytree': float(round(rng.uniform(0.5, 1.0), 3)),
        }


def peer_xgboost(task, d):
    import xgboost as xgb
    k = len(d['classes']) if d['classes'] else None
    best = None
    for params in xgb_draws(np.random.RandomState(SEARCH_SEED), XGB_TRIALS):
        common = dict(n_estimators=XGB_MAX_ROUNDS, early_stopping_rounds=XGB_PATIENCE, tree_method='hist',
                      enable_categorical=True, max_cat_to_onehot=1, n_jobs=THREADS, random_state=0, **params)
        if task == 'regression':
            model = xgb.XGBRegressor(objective='reg:squarederror', eval_metric='rmse', **common)
        else:
            model = xgb.XGBClassifier(objective='binary:logistic' if k == 2 else 'multi:softprob', eval_metric='logloss' if k == 2 else 'mlogloss', **common)
        model.fit(d['Xtr'], d['ytr'], eval_set=[(d['Xtune'], d['ytune'])], verbose=False)
        pred = model.predict(d['Xtune']) if task == 'regression' else model.predict_proba(d['Xtune'])
        value = objective(task, d['ytune'], pred, k)
        say(f'    xgboost {json.dumps(params)} rounds {model.best_iteration + 1}: tune {value:.5f}')
        if best is None or value < best[0]:
            best = (value, {**params, 'n_estimators': int(model.best_iteration + 1)}, model)
    value, params, model = best
    pred = model.predict(d['Xscore']) if task == 'regression' else model.predict_proba(d['Xscore'])
    return params, value, score_metrics(task, d['yscore'], pred, k)


def hgb_matrix(Xs, cap=HGB_MAX_CATEGORIES):
    """Category codes (NaN missing) for HistGradientBoosting, at most `cap` categories per column."""
    Xtr = Xs[0]
    cols, mask = [], []
    remaps = {}
    for c in Xtr.columns:
        if isinstance(Xtr[c].dtype, pd.CategoricalDtype):
            counts = pd.Series(Xtr[c].cat.codes[Xtr[c].cat.codes >= 0]).value_counts()
            if len(Xtr[c].cat.categories) > cap:
                keep = counts.index[: cap - 1]
                remap = np.full(len(Xtr[c].cat.categories), cap - 1, dtype=float)
                remap[keep.to_numpy()] = np.arange(len(keep))
                remaps[c] = remap
            mask.append(True)
        else:
            mask.append(False)
        cols.append(c)
    out = []
    for X in Xs:
        m = np.empty((len(X), len(cols)))
        for j, c in enumerate(cols):
            if mask[j]:
                codes = X[c].cat.codes.to_numpy().astype(float)
                missing = codes < 0
                if c in remaps:
                    codes = remaps[c][np.where(missing, 0, codes).astype(int)]
                codes[missing] = np.nan
                m[:, j] = codes
            else:
                m[:, j] = X[c].to_numpy(float)
        out.append(m)
    return out, np.array(mask)


def hgb_draws(rng, n):
    yield {'learning_rate': 0.1, 'max_leaf_nodes': 31, 'min_samples_leaf': 20, 'l2_regularization': 0.0}
    for _ in range(n - 1):
        yield {
            'learning_rate': float(rng.choice([0.03, 0.05, 0.1, 0.2])),
            'max_leaf_nodes': int(rng.choice([15, 31, 63, 127])),
            'min_samples_leaf': int(rng.choice([5, 10, 20, 50, 100])),
            'l2_regularization': float(rng.choice([0.0, 0.1, 1.0, 10.0])),
        }


def peer_hgb(task, d):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    (Mtr, Mtune, Mscore), mask = hgb_matrix([d['Xtr'], d['Xtune'], d['Xscore']])
    k = len(d['classes']) if d['classes'] else None
    best = None
    for params in hgb_draws(np.random.RandomState(SEARCH_SEED), HGB_TRIALS):
        cls = HistGradientBoostingRegressor if task == 'regression' else HistGradientBoostingClassifier
        model = cls(max_iter=HGB_STEP, warm_start=True, early_stopping=False, categorical_features=mask if mask.any() else None, random_state=0, **params)
        curve = []
        while True:  # early stopping on the tune half: grow by HGB_STEP rounds until HGB_PATIENCE rounds bring no gain
            model.fit(Mtr, d['ytr'])
            staged = model.staged_predict(Mtune) if task == 'regression' else model.staged_predict_proba(Mtune)
            curve += [objective(task, d['ytune'], p, k) for i, p in enumerate(staged) if i >= len(curve)]
            if len(curve) - 1 - int(np.argmin(curve)) >= HGB_PATIENCE or len(curve) >= HGB_MAX_ITER or model.n_iter_ < model.max_iter:
                break
            model.set_params(max_iter=min(len(curve) + HGB_STEP, HGB_MAX_ITER))
        rounds = int(np.argmin(curve)) + 1
        say(f'    hgb {json.dumps(params)} rounds {rounds}: tune {curve[rounds - 1]:.5f}')
        if best is None or curve[rounds - 1] < best[0]:
            best = (curve[rounds - 1], {**params, 'max_iter': rounds}, model)
    value, params, model = best
    staged = model.staged_predict(Mscore) if task == 'regression' else model.staged_predict_proba(Mscore)
    for i, pred in enumerate(staged, 1):
        if i == params['max_iter']:
            break
    return params, value, score_metrics(task, d['yscore'], pred, k)


def peer_logreg(task, d):
    if task != 'classification':
        raise ValueError('logreg is a classification peer')
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    k = len(d['classes'])
    cats = [c for c in d['Xtr'].columns if isinstance(d['Xtr'][c].dtype, pd.CategoricalDtype)]
    nums = [c for c in d['Xtr'].columns if c not in cats]

    def as_objects(X):
        X = X.copy()
        for c in cats:
            X[c] = X[c].astype(object).where(X[c].notna(), '(missing)')
        return X

    Xtr, Xtune, Xscore = (as_objects(X) for X in (d['Xtr'], d['Xtune'], d['Xscore']))
    best = None
    for C in LOGREG_C:
        pre = ColumnTransformer([
            ('num', make_pipeline(SimpleImputer(strategy='median', add_indicator=True), StandardScaler()), nums),
            ('cat', OneHotEncoder(handle_unknown='ignore'), cats),
        ])
        model = make_pipeline(pre, LogisticRegression(C=C, max_iter=2000))
        model.fit(Xtr, d['ytr'])
        value = objective(task, d['ytune'], model.predict_proba(Xtune), k)
        say(f'    logreg C={C}: tune {value:.5f}')
        if best is None or value < best[0]:
            best = (value, {'C': C}, model)
    value, params, model = best
    return params, value, score_metrics(task, d['yscore'], model.predict_proba(Xscore), k)


PEERS = {'xgboost': peer_xgboost, 'hgb': peer_hgb, 'logreg': peer_logreg}
PEERS_FOR = {'regression': ['xgboost', 'hgb'], 'classification': ['logreg', 'xgboost', 'hgb']}


def main():
    ap = argparse.ArgumentParser(description='Peers of npm run bench -- quality (see the module docstring).')
    ap.add_argument('--tables', help='comma-separated table names (default: all of tables.json)')
    ap.add_argument('--peers', help='comma-separated peers (default: xgboost,hgb; plus logreg for classification)')
    ap.add_argument('--splits-dir', help='write each table\'s tune/score halves of eval to DIR/<table>/{tune,score}.csv')
    ap.add_argument('--splits-only', action='store_true', help='write the splits and exit')
    ap.add_argument('--out', help='also write DIR/<table>.<peer>.json')
    a = ap.parse_args()
    tables = load_tables(a.tables.split(',') if a.tables else None)
    if a.splits_dir:
        for t in tables:
            s = write_splits(t, a.splits_dir)
            say(f'{t["name"]}: tune {s["tuneRows"]} rows, score {s["scoreRows"]} rows → {os.path.dirname(s["score"])}')
        if a.splits_only:
            return
    import sklearn
    import xgboost
    say(f'peers: xgboost {xgboost.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}, numpy {np.__version__}; {THREADS} threads; '
        f'{XGB_TRIALS} xgboost trials, {HGB_TRIALS} hgb trials, split seed {SPLIT_SEED}')
    say('protocol:' + protocol_text())
    if a.out:
        os.makedirs(a.out, exist_ok=True)
    for t in tables:
        d = prepare(t)
        say(f'{t["name"]} ({t["task"]}, label {t["label"]}): train {len(d["ytr"])}, tune {len(d["ytune"])}, score {len(d["yscore"])} rows, '
            f'{d["Xtr"].shape[1]} features' + (f', {len(d["classes"])} classes' if d['classes'] else ''))
        for peer in (a.peers.split(',') if a.peers else PEERS_FOR[t['task']]):
            if peer not in PEERS_FOR[t['task']]:
                continue
            t0 = time.perf_counter()
            params, tune_value, metrics = PEERS[peer](t['task'], d)
            seconds = round(time.perf_counter() - t0, 2)
            result = {'table': t['name'], 'peer': peer, 'task': t['task'], **metrics, 'seconds': seconds,
                      'tune': round(tune_value, 6), 'scoreRows': int(len(d['yscore'])), 'params': params}
            say(f'  {t["name"]} {peer}: ' + ', '.join(f'{m} {v}' for m, v in metrics.items()) + f' ({seconds} s)')
            print(json.dumps(result), flush=True)
            if a.out:
                with open(os.path.join(a.out, f'{t["name"]}.{peer}.json'), 'w') as f:
                    json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
