import type { RunHeader } from '@refresher/contracts';
import { html, type SafeHtml } from './html.ts';
import type { AccountView, StatusView } from './view.ts';

// The rows as the server renders them; assets/app.js builds the same markup from /status/data.

/** "4h 05m left", "expired 12m ago", or a dash without a token. */
export function countdown(validity: string | null, now: number): string {
  if (validity === null) return '—';
  const ms = Date.parse(validity) - now;
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const text = minutes >= 60 ? `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m` : `${minutes}m`;
  return ms > 0 ? `${text} left` : `expired ${text} ago`;
}

/** UTC on the server; the page's script shows the browser's local time. */
export function timeText(iso: string | null): string {
  return iso === null ? '—' : `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

function timeCell(iso: string | null): SafeHtml {
  return iso === null ? html`—` : html`<time datetime="${iso}">${timeText(iso)}</time>`;
}

function actions(account: AccountView, may: StatusView['may']): SafeHtml {
  const id = account.userID;
  return html`${may.refresh ? html`<button type="button" data-action="refresh" data-user="${id}">Refresh</button>` : ''}${
    may.manageUsers && account.rejected ? html`<button type="button" data-action="lift" data-user="${id}">Lift rejection</button>` : ''
  }${
    may.refresh && account.browserLogin
      ? html`<a class="button" href="/status/api/iifl/login/${encodeURIComponent(id)}" target="_blank" rel="noopener noreferrer"
          >IIFL login</a
        >`
      : ''
  }`;
}

export function accountRow(account: AccountView, may: StatusView['may'], now: number): SafeHtml {
  const search = `${account.clientName} ${account.userID}`.toLowerCase();
  return html`<tr
    data-user="${account.userID}"
    data-state="${account.state}"
    data-attention="${String(account.attention)}"
    data-search="${search}"
    class="state-${account.state}"
  >
    <td data-label="Client" class="c-name">${account.clientName}</td>
    <td data-label="User ID" class="c-user">${account.userID}</td>
    <td data-label="Flow">${account.loginFlow}</td>
    <td data-label="Login status">${account.loginStatus}</td>
    <td data-label="Status" class="c-state">
      <span class="badge">${account.stateLabel}</span>${account.rejected ? html` <span class="mark">rejection mark</span>` : ''}
    </td>
    <td data-label="Token" class="c-validity" data-validity="${account.tokenValidity ?? ''}">
      <span class="countdown">${countdown(account.tokenValidity, now)}</span>${
        account.tokenPreview ? html` <code class="preview">${account.tokenPreview}</code>` : ''
      }
    </td>
    <td data-label="Last attempt">${timeCell(account.lastAttemptAt)} ${account.lastAttempt ?? ''}</td>
    <td data-label="Failure" class="c-failure">
      ${account.failureCode ? html`<code>${account.failureCode}</code> ` : ''}${account.failureMessage ?? ''}
    </td>
    <td data-label="Actions" class="c-actions">${actions(account, may)}</td>
  </tr>`;
}

export function runRow(run: RunHeader): SafeHtml {
  const state = run.completedAt ? 'completed' : 'running';
  return html`<tr data-run="${run.runId}" class="run-${state}">
    <td data-label="Run">
      <code>${run.runId}</code>${run.retryOf ? html` <small>pass of ${run.retryOf}</small>` : ''}${
        run.userID ? html` <small>user ${run.userID}</small>` : ''
      }
    </td>
    <td data-label="Trigger">${run.trigger}</td>
    <td data-label="Started">${timeCell(run.requestedAt)}</td>
    <td data-label="Refreshed">${run.refreshed}</td>
    <td data-label="Failed">${run.failed}</td>
    <td data-label="Skipped">${run.skipped}</td>
    <td data-label="Pending">${run.pending}</td>
    <td data-label="Total">${run.total}</td>
    <td data-label="State">${state}</td>
  </tr>`;
}
