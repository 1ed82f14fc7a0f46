// The HTML of the login page. Everything echoed into a page is escaped.
import { messageFor, type Outcome } from './answers.ts';

export interface FormFields {
  appkey: string;
  redirecturl: string;
  /** Kept in the client ID box after a refusal. */
  clientId?: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);

function document(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
${body}
</body>
</html>
`;
}

const errorLine = (code: string | undefined, message: string): string =>
  `<p class="error" role="alert">${code !== undefined ? `<span class="code">${escapeHtml(code)}</span> ` : ''}${escapeHtml(message)}</p>`;

function formHtml(fields: FormFields, code: string | undefined): string {
  const hidden = (name: string, value: string): string => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return document(
    'IIFL simulator: log in',
    `<h1>Log in to authorise the app</h1>
${code !== undefined ? errorLine(code, messageFor(code)) : ''}
<form method="post" action="/">
${hidden('v', '1')}
${hidden('appkey', fields.appkey)}
${hidden('redirecturl', fields.redirecturl)}
<p><label>Client ID <input name="clientId" value="${escapeHtml(fields.clientId ?? '')}" autocomplete="username" required></label></p>
<p><label>Password <input type="password" name="password" autocomplete="current-password" required></label></p>
<p><label>TOTP <input name="totp" inputmode="numeric" autocomplete="one-time-code" required></label></p>
<p><button type="submit">Log in</button></p>
</form>`,
  );
}

export const page = {
  /** The form; with `code`, IIFL's message for it above the form (and the stats count the code). */
  form(httpStatus: number, fields: FormFields, code?: string): Outcome {
    const outcome: Outcome = { kind: 'html', httpStatus, html: formHtml(fields, code) };
    if (code !== undefined) outcome.code = code;
    return outcome;
  },
  /** An error page; with a code, IIFL's text unless `message` is given. */
  error(httpStatus: number, code: string | undefined, message?: string): Outcome {
    const text = message ?? (code !== undefined ? messageFor(code) : 'Request failed');
    const html = document('IIFL simulator: error', `<h1>Login failed</h1>\n${errorLine(code, text)}`);
    const outcome: Outcome = { kind: 'html', httpStatus, html };
    outcome.code = code ?? `HTTP ${httpStatus}`;
    return outcome;
  },
  /** Without a redirect URL: the authCode on a page, to be pasted by hand. */
  authCode(authCode: string, clientId: string): Outcome {
    const html = document(
      'IIFL simulator: authCode',
      `<h1>Logged in</h1>
<p>Client ID: <code id="clientId">${escapeHtml(clientId)}</code></p>
<p>authCode: <code id="authCode">${escapeHtml(authCode)}</code></p>`,
    );
    return { kind: 'html', httpStatus: 200, html };
  },
};
