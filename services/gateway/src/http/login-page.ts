import type { Response } from 'express';
import { FailureCode, LoginRefusal } from '@refresher/contracts';

/** What the callback page says: a title and a sentence or two, all escaped. */
export interface LoginPage {
  status: number;
  title: string;
  message: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A small page for a browser: no script, no token, no nonce, nothing from the query but a checked user id. */
export function sendLoginPage(res: Response, page: LoginPage): void {
  if (res.headersSent || res.destroyed) return;
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(page.title)}</title></head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<p>${escapeHtml(page.message)}</p>
</body>
</html>
`;
  res.status(page.status).type('html').send(html);
}

const ASK_AGAIN = 'Ask for a new login link and log in again.';

/** The page for a refusal of the callback, by the reason iifl-auth gave (or the status alone). */
export function refusalPage(code: number, reason: string): LoginPage {
  switch (reason) {
    case LoginRefusal.LinkInvalid:
      return {
        status: 400,
        title: 'Invalid login link',
        message: `This login link is not one this service made, or it was altered. ${ASK_AGAIN}`,
      };
    case LoginRefusal.LinkExpired:
      return { status: 410, title: 'Login link expired', message: `This login link has expired. ${ASK_AGAIN}` };
    case LoginRefusal.LinkUsed:
      return {
        status: 409,
        title: 'Login link already used',
        message: 'This login link has been used already; a link logs in once. Nothing was changed.',
      };
    case LoginRefusal.WrongAccount:
      return {
        status: 403,
        title: 'Another account',
        message: 'You logged in at IIFL with another account than the one this link was made for. Nothing was changed.',
      };
    case LoginRefusal.NotConfigured:
      return {
        status: 503,
        title: 'Login links are not configured',
        message: 'This service cannot complete browser logins at the moment.',
      };
    case LoginRefusal.UserNotFound:
      return { status: 404, title: 'Unknown account', message: 'The account this link was made for is no longer registered.' };
    case LoginRefusal.NoAppCredentials:
      return { status: 409, title: 'No app credentials', message: 'This account has no app key registered, so it cannot log in here.' };
  }
  if (code === 502 && (Object.values(FailureCode) as string[]).includes(reason)) {
    return { status: 502, title: 'IIFL refused the login', message: `IIFL did not accept the login code (${reason}). ${ASK_AGAIN}` };
  }
  return { status: 503, title: 'Login not completed', message: `The login could not be completed right now. ${ASK_AGAIN}` };
}
