/**
 * @module @bucketml/pages
 * The bucket's pages: runs/<runId>/index.html and models/<model>/index.html, each one HTML file
 * with uPlot and its scripts inlined at build time and its data embedded.
 */
export { embeddedRevision, modelsPageHtml, runPageHtml } from './render.js';
