import { http } from '@google-cloud/functions-framework';
import { handlePredict, ModelServer, storageFromEnv } from '@bucketml/pipeline/serving';

// One model server per instance: loaded on the first request, revalidated cheaply after that.
const server = storageFromEnv().then((storage) => new ModelServer(storage, Number(process.env.BUCKETML_REVALIDATE_MS ?? 1000)));

/** POST /<model> {"instances": [...]} → predictions; GET /<model> → model info. */
http('predict', async (req, res) => {
  const { status, body } = await handlePredict(await server, { method: req.method, path: req.path, contentType: req.get('content-type'), body: req.body });
  res.status(status).json(body);
});
