/**
 * @module vertex-serving
 * Vertex AI's custom-container contract for serving, as the predict server and
 * `bucketml deploy --vertex-endpoint` both use it: Vertex starts the container with these
 * variables (from the model's upload flags) and copies the model's artifacts to
 * AIP_STORAGE_URI. https://cloud.google.com/vertex-ai/docs/predictions/custom-container-requirements
 */

/** The environment Vertex sets, and the values BucketML's upload gives it. */
export const VERTEX_SERVING = {
  portEnv: 'AIP_HTTP_PORT',
  healthRouteEnv: 'AIP_HEALTH_ROUTE',
  predictRouteEnv: 'AIP_PREDICT_ROUTE',
  storageUriEnv: 'AIP_STORAGE_URI',
  port: 8080,
  healthRoute: '/health',
  predictRoute: '/predict',
} as const;

/**
 * Why a predict body's `parameters` is refused, or undefined: when given it must be an object
 * (Vertex's request format), on a Vertex endpoint as from the predict function.
 */
export function parametersError(body: unknown): string | undefined {
  const parameters = (body as { parameters?: unknown } | null)?.parameters;
  if (parameters === undefined) return undefined;
  if (typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters))
    return undefined;
  return '"parameters" must be an object when given';
}
