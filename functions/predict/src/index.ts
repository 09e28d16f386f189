/**
 * @module @bucketml/fn-predict
 * The predict Cloud Function: serves every deployed model over HTTP. Each instance loads them all
 * as it starts and follows their serving pointers, so a deployment is served without a redeploy.
 */
import './body-guard.js';
import { http } from '@google-cloud/functions-framework';
import { handlePredict, ModelServer, storageFromEnv } from '@bucketml/pipeline/serving';
import { functionNamed, numericSetting } from '@bucketml/contracts';

// A load failure keeps the serving model; it is logged as Cloud Logging reads stdout JSON (no
// logger import: this function's cold start is on the request path).
const logLoadError = (model: string, err: unknown) =>
  console.log(
    JSON.stringify({
      severity: 'ERROR',
      message: `model ${model} could not be loaded: ${err instanceof Error ? err.message : String(err)}`,
      model,
      stage: 'predict',
    }),
  );

// One model server per instance, loading every deployed model while the framework starts.
const server = storageFromEnv().then((storage) => {
  const s = new ModelServer(storage, numericSetting('BUCKETML_REVALIDATE_MS'), logLoadError);
  s.preload().catch((err) => logLoadError('*', err));
  return s;
});

/** POST /<model> {"instances": [...]} → predictions; GET /<model> → model info. */
http(functionNamed('predict').entryPoint, async (req, res) => {
  const { status, body } = await handlePredict(await server, {
    method: req.method,
    path: req.path,
    contentType: req.get('content-type'),
    bodyBytes: req.rawBody?.length,
    body: req.body,
  });
  res.status(status).json(body);
});
