import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** The page's own script and stylesheet, read once at start (no build step). */
const SCRIPT = readFileSync(new URL('./assets/app.js', import.meta.url), 'utf8');
const STYLES = readFileSync(new URL('./assets/app.css', import.meta.url), 'utf8');

export const serveScript: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-cache').type('text/javascript').send(SCRIPT);
};

export const serveStyles: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-cache').type('text/css').send(STYLES);
};

/**
 * The status pages' Content-Security-Policy: nothing but this origin's own script, stylesheet and
 * fetches; no inline script or style, no frames, forms posting here only.
 */
export const statusCsp: RequestHandler = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
});

/** Pages and data are never stored by a browser or a proxy. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};
