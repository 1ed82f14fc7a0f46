// The status page's script: served as is by the gateway (/status/app.js), no build step, no
// framework. It keeps the server-rendered page current: server-sent events from /status/events,
// then the page's data from /status/data, drawn with DOM calls and textContent only (never HTML
// from data). State-changing requests carry the session's CSRF token in X-CSRF-Token.
'use strict';

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const $ = (id) => document.getElementById(id);
let refreshTimer = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === '') continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

function countdown(validity, now) {
  if (!validity) return '—';
  const ms = Date.parse(validity) - now;
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const text = minutes >= 60 ? `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m` : `${minutes}m`;
  return ms > 0 ? `${text} left` : `expired ${text} ago`;
}

function timeCell(iso) {
  if (!iso) return '—';
  const text = new Date(iso).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return el('time', { datetime: iso }, text);
}

function actions(account, may) {
  const id = account.userID;
  return [
    may.refresh ? el('button', { type: 'button', 'data-action': 'refresh', 'data-user': id }, 'Refresh') : null,
    may.manageUsers && account.rejected ? el('button', { type: 'button', 'data-action': 'lift', 'data-user': id }, 'Lift rejection') : null,
    may.refresh && account.browserLogin
      ? el(
          'a',
          { class: 'button', href: `/status/api/iifl/login/${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener noreferrer' },
          'IIFL login',
        )
      : null,
  ];
}

function accountRow(a, may, now) {
  const td = (label, attrs, ...children) => el('td', { 'data-label': label, ...attrs }, ...children);
  return el(
    'tr',
    {
      'data-user': a.userID,
      'data-state': a.state,
      'data-attention': String(a.attention),
      'data-search': `${a.clientName} ${a.userID}`.toLowerCase(),
      class: `state-${a.state}`,
    },
    td('Client', { class: 'c-name' }, a.clientName),
    td('User ID', { class: 'c-user' }, a.userID),
    td('Flow', {}, a.loginFlow),
    td('Login status', {}, a.loginStatus),
    td(
      'Status',
      { class: 'c-state' },
      el('span', { class: 'badge' }, a.stateLabel),
      a.rejected ? ' ' : '',
      a.rejected ? el('span', { class: 'mark' }, 'rejection mark') : null,
    ),
    td(
      'Token',
      { class: 'c-validity', 'data-validity': a.tokenValidity || '' },
      el('span', { class: 'countdown' }, countdown(a.tokenValidity, now)),
      a.tokenPreview ? ' ' : '',
      a.tokenPreview ? el('code', { class: 'preview' }, a.tokenPreview) : null,
    ),
    td('Last attempt', {}, timeCell(a.lastAttemptAt), ' ', a.lastAttempt || ''),
    td(
      'Failure',
      { class: 'c-failure' },
      a.failureCode ? el('code', {}, a.failureCode) : null,
      a.failureCode ? ' ' : '',
      a.failureMessage || '',
    ),
    td('Actions', { class: 'c-actions' }, actions(a, may)),
  );
}

function runRow(run) {
  const state = run.completedAt ? 'completed' : 'running';
  const td = (label, ...children) => el('td', { 'data-label': label }, ...children);
  return el(
    'tr',
    { 'data-run': run.runId, class: `run-${state}` },
    td(
      'Run',
      el('code', {}, run.runId),
      run.retryOf ? el('small', {}, ` pass of ${run.retryOf}`) : null,
      run.userID ? el('small', {}, ` user ${run.userID}`) : null,
    ),
    td('Trigger', run.trigger),
    td('Started', timeCell(run.requestedAt)),
    ...['refreshed', 'failed', 'skipped', 'pending', 'total'].map((k) => td(k[0].toUpperCase() + k.slice(1), String(run[k]))),
    td('State', state),
  );
}

function render(next) {
  const now = Date.now();
  const verdict = $('verdict');
  verdict.className = `verdict verdict-${next.verdict.status}`;
  verdict.dataset.status = next.verdict.status;
  $('verdict-headline').textContent = next.verdict.headline;
  $('verdict-detail').textContent = next.verdict.detail;
  $('account-count').textContent = String(next.accounts.length);
  $('attention-count').textContent = String(next.accounts.filter((a) => a.attention).length);
  $('accounts-rows').replaceChildren(...next.accounts.map((a) => accountRow(a, next.may, now)));
  $('runs-rows').replaceChildren(...next.runs.map(runRow));
  applyFilters();
}

function applyFilters() {
  const query = $('search').value.trim().toLowerCase();
  const attention = $('attention').checked;
  const state = $('state-filter').value;
  let shown = 0;
  for (const row of $('accounts-rows').rows) {
    const match =
      (!query || row.dataset.search.includes(query)) &&
      (!attention || row.dataset.attention === 'true') &&
      (!state || row.dataset.state === state);
    row.hidden = !match;
    if (match) shown += 1;
  }
  $('no-match').hidden = shown > 0;
}

function tickCountdowns() {
  const now = Date.now();
  for (const cell of document.querySelectorAll('td.c-validity')) {
    cell.querySelector('.countdown').textContent = countdown(cell.dataset.validity || null, now);
  }
}

function notice(text, isError) {
  const box = $('notice');
  box.textContent = text;
  box.className = isError ? 'error' : '';
}

async function loadData() {
  refreshTimer = null;
  const res = await fetch('/status/data', { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) return notice('Signed out: reload the page to sign in again.', true);
  if (!res.ok) return notice(`The status could not be read (${res.status}); it is tried again with the next event.`, true);
  render(await res.json());
}

function scheduleLoad() {
  if (refreshTimer === null)
    refreshTimer = setTimeout(() => void loadData().catch(() => notice('The status could not be read.', true)), 250);
}

/** An outcome shows on its row at once; the whole page follows from /status/data. */
function onOutcome(event) {
  const outcome = JSON.parse(event.data);
  const row = document.querySelector(`tr[data-user="${CSS.escape(outcome.userID)}"]`);
  if (row)
    row.querySelector('.badge').textContent =
      outcome.outcome === 'refreshed' ? 'Refreshed' : outcome.outcome === 'failed' ? 'Failed' : 'Skipped';
  scheduleLoad();
}

function listen() {
  const live = $('live');
  const source = new EventSource('/status/events');
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.dataset.live = 'on';
    scheduleLoad();
  });
  source.addEventListener('outcome', onOutcome);
  source.addEventListener('completed', scheduleLoad);
  source.addEventListener('error', () => {
    live.dataset.live = 'off';
    live.textContent = source.readyState === EventSource.CLOSED ? 'not live: reload the page' : 'reconnecting…';
  });
}

async function act(method, path, done) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { 'x-csrf-token': csrf, prefer: 'respond-async', accept: 'application/json' },
    });
  } catch {
    return notice('The request did not reach the gateway; try again.', true);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok || body.success === false) return notice(body.error || body.message || `Refused (${res.status})`, true);
  notice(done(body), false);
  scheduleLoad();
}

function onAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const user = button.dataset.user;
  const path = encodeURIComponent(user);
  if (button.dataset.action === 'refresh') {
    const row = button.closest('tr');
    row.className = 'state-pending';
    row.dataset.state = 'pending';
    row.querySelector('.badge').textContent = 'Refreshing';
    void act('POST', `/status/api/tokens/refresh/${path}`, (b) => `Refresh of ${user} started (run ${b.runId}).`);
  } else if (button.dataset.action === 'lift') {
    void act('DELETE', `/status/api/users/${path}/rejection`, (b) =>
      b.cleared ? `Rejection mark of ${user} lifted.` : `${user} had no rejection mark.`,
    );
  }
}

$('accounts-rows').addEventListener('click', onAction);
for (const id of ['search', 'attention', 'state-filter']) $(id).addEventListener('input', applyFilters);
const failedButton = $('refresh-failed');
if (failedButton) {
  failedButton.addEventListener(
    'click',
    () =>
      void act('POST', '/status/api/tokens/refresh-failed', (b) =>
        b.runId && b.requested + b.skipped > 0
          ? `Run ${b.runId} retries ${b.requested} failed user(s).`
          : 'Nobody failed: nothing to refresh.',
      ),
  );
}
// Back from another tab (an IIFL login opened from a row, whose token comes in no run): read again.
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) scheduleLoad();
});
setInterval(tickCountdowns, 15000);
listen();
