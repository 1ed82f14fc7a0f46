import type { Request, Response } from 'express';
import type { HttpAnswer } from '../legacy-bodies.ts';

/** Sends an answer unless the caller has gone; a 202 that names its run gets a `Location`. */
export function send(res: Response, answer: HttpAnswer): void {
  if (res.headersSent || res.destroyed) return;
  const statusUrl = answer.body.statusUrl;
  if (answer.status === 202 && typeof statusUrl === 'string') res.location(statusUrl);
  res.status(answer.status).json(answer.body);
}

/** RFC 7240: `Prefer: respond-async` (possibly among other preferences). */
export function prefersAsync(req: Request): boolean {
  const header = req.headers.prefer;
  const values = Array.isArray(header) ? header : header ? [header] : [];
  return values.some((value) => value.split(',').some((pref) => pref.split(';')[0]?.trim().toLowerCase() === 'respond-async'));
}

export function sendAsync(res: Response, answer: HttpAnswer): void {
  res.set('Preference-Applied', 'respond-async');
  send(res, answer);
}
