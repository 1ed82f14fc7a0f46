import { html, type SafeHtml } from './html.ts';
import { accountRow, runRow } from './rows.ts';
import { ACCOUNT_STATES, STATE_LABELS, type StatusView } from './view.ts';

const TITLE = 'IIFL token refresher — status';

/** The document around a page: its own stylesheet and script only (the CSP allows nothing else). */
function documentOf(body: SafeHtml, head: SafeHtml = html``): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${TITLE}</title>
        <link rel="stylesheet" href="/status/app.css" />
        ${head}
      </head>
      <body>
        ${body}
      </body>
    </html> `.text;
}

/** The sign-in form: an API key in, a session cookie out. No script. */
export function signInPage(error: string | null = null): string {
  return documentOf(
    html`<main class="sign-in">
      <h1>Token refresher status</h1>
      <form method="post" action="/status/sign-in">
        <label for="key">API key</label>
        <input id="key" name="key" type="password" autocomplete="current-password" required maxlength="512" />
        <button type="submit">Sign in</button>
      </form>
      ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <p class="hint">The key is checked once; the browser then holds a session cookie only.</p>
    </main>`,
  );
}

/**
 * Served instead of the sign-in form to a navigation from another site: SameSite=Strict keeps the
 * cookie off that first request, so the page asks again from itself, which carries it.
 */
export function reloadPage(): string {
  return documentOf(html`<p>Opening the status page…</p>`, html`<meta http-equiv="refresh" content="0" />`);
}

function toolbar(view: StatusView, csrfToken: string): SafeHtml {
  return html`<div class="bar">
      <span id="live" class="live" data-live="off">connecting…</span>
      ${view.may.refresh ? html`<button type="button" id="refresh-failed">Refresh the failed ones</button>` : ''}
      <form method="post" action="/status/sign-out" class="inline">
        <input type="hidden" name="csrf" value="${csrfToken}" /><button type="submit">Sign out</button>
      </form>
    </div>
    <p id="notice" role="status" aria-live="polite"></p>`;
}

function filters(view: StatusView): SafeHtml {
  const attention = view.accounts.filter((a) => a.attention).length;
  return html`<div class="filters">
    <input id="search" type="search" placeholder="Search client or user ID" aria-label="Search client or user ID" />
    <label class="check"><input id="attention" type="checkbox" /> Needs attention (<span id="attention-count">${attention}</span>)</label>
    <select id="state-filter" aria-label="Status">
      <option value="">Every status</option>
      ${ACCOUNT_STATES.map((s) => html`<option value="${s}">${STATE_LABELS[s]}</option>`)}
    </select>
  </div>`;
}

const ACCOUNT_COLUMNS = ['Client', 'User ID', 'Flow', 'Login status', 'Status', 'Token', 'Last attempt', 'Failure', 'Actions'];
const RUN_COLUMNS = ['Run', 'Trigger', 'Started', 'Refreshed', 'Failed', 'Skipped', 'Pending', 'Total', 'State'];

function table(id: string, columns: string[], rows: SafeHtml[]): SafeHtml {
  return html`<table id="${id}" class="cards">
    <thead>
      <tr>
        ${columns.map((c) => html`<th scope="col">${c}</th>`)}
      </tr>
    </thead>
    <tbody id="${id}-rows">
      ${rows}
    </tbody>
  </table>`;
}

/** The status page, rendered in full; the script then keeps it current from /status/events. */
export function statusPage(view: StatusView, csrfToken: string): string {
  const now = Date.parse(view.now);
  const body = html`<header class="top">
      <section id="verdict" class="verdict verdict-${view.verdict.status}" data-status="${view.verdict.status}">
        <h1 id="verdict-headline">${view.verdict.headline}</h1>
        <p id="verdict-detail">${view.verdict.detail}</p>
      </section>
      ${toolbar(view, csrfToken)}
    </header>
    <main>
      <section aria-labelledby="accounts-title">
        <h2 id="accounts-title">Accounts (<span id="account-count">${view.accounts.length}</span>)</h2>
        ${filters(view)}
        ${table(
          'accounts',
          ACCOUNT_COLUMNS,
          view.accounts.map((a) => accountRow(a, view.may, now)),
        )}
        <p id="no-match" hidden>No account matches.</p>
      </section>
      <section aria-labelledby="runs-title">
        <h2 id="runs-title">Latest runs and passes</h2>
        ${table('runs', RUN_COLUMNS, view.runs.map(runRow))}
      </section>
    </main>`;
  const head = html`<meta name="csrf-token" content="${csrfToken}" />
    <script src="/status/app.js" defer></script>`;
  return documentOf(body, head);
}
