// The floor for the serving bench: a functions-framework HTTP function that does nothing but
// answer with a small JSON body (the framework still parses the request body, as for predict).
require('@google-cloud/functions-framework').http('noop', (req, res) => {
  res.status(200).json({ predictions: [] });
});
