// HTTP access to /api/v1: bearer token in sessionStorage, one refresh on 401 when the API gave a
// refresh token, lists read page by page when the API paginates (X-Pagination), uploads through
// XMLHttpRequest for upload progress, and job polling.

const BASE = '/api/v1';
const KEYS = { access: 'rc.access_token', refresh: 'rc.refresh_token' };
const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

export const session = {
  get token() { return sessionStorage.getItem(KEYS.access); },
  get refreshToken() { return sessionStorage.getItem(KEYS.refresh); },
  save(pair) {
    sessionStorage.setItem(KEYS.access, pair.access_token);
    if (pair.refresh_token) sessionStorage.setItem(KEYS.refresh, pair.refresh_token);
    else sessionStorage.removeItem(KEYS.refresh);
  },
  clear() {
    sessionStorage.removeItem(KEYS.access);
    sessionStorage.removeItem(KEYS.refresh);
  },
};

/** An error answer of the API ({code, message, errors?, request_id?}) or a network failure. */
export class ApiError extends Error {
  constructor(status, body = {}, requestId = null) {
    super(body.message || `request failed (${status})`);
    this.status = status;
    this.code = body.code || (status ? `http_${status}` : 'network_error');
    this.fields = body.errors || null;
    this.requestId = body.request_id || requestId;
  }
}

async function errorFrom(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON: keep the status */ }
  return new ApiError(response.status, body, response.headers.get('X-Request-Id'));
}

/** A fresh Idempotency-Key: a retried click must not enqueue the same work twice. */
export function idempotencyKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

let refreshing = null;

/** Trade the refresh token for a new pair, once for all requests that got a 401 together. */
async function refreshTokens() {
  const refreshToken = session.refreshToken;
  if (!refreshToken) return false;
  refreshing ??= (async () => {
    try {
      const response = await fetch(`${BASE}/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
      if (!response.ok) return false;
      session.save(await response.json());
      return true;
    } catch {
      return false;
    }
  })().finally(() => { refreshing = null; });
  return refreshing;
}

function signedOut() {
  session.clear();
  window.dispatchEvent(new CustomEvent('rc:signed-out'));
}

function buildUrl(path, query) {
  const url = new URL(BASE + path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  return url;
}

/**
 * One API call. Answers the parsed JSON body (null for 204), or the Response with `raw`.
 * A 401 is retried once after a token refresh; a second 401 signs the user out.
 */
export async function request(method, path, options = {}) {
  const { json, query, headers = {}, raw = false, retry = true, idempotent = false } = options;
  const sent = { ...headers };
  if (session.token) sent.Authorization = `Bearer ${session.token}`;
  if (idempotent) sent['Idempotency-Key'] ??= idempotencyKey();
  const init = { method, headers: sent, cache: 'no-cache' };
  if (json !== undefined) {
    sent['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(buildUrl(path, query), init);
  } catch {
    throw new ApiError(0, { message: 'the server could not be reached' });
  }
  const isAuthCall = path.startsWith('/auth/');
  if (response.status === 401 && !isAuthCall && session.token) {
    if (retry && await refreshTokens()) {
      return request(method, path, { ...options, headers: sent, retry: false });
    }
    signedOut();
  }
  if (!response.ok) throw await errorFrom(response);
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

export const api = {
  get: (path, options) => request('GET', path, options),
  post: (path, json, options = {}) => request('POST', path, { ...options, json }),
  put: (path, json, options = {}) => request('PUT', path, { ...options, json }),
  patch: (path, json, options = {}) => request('PATCH', path, { ...options, json }),
  delete: (path, options) => request('DELETE', path, options),
};

const MAX_PAGES = 50;
const unpaginated = new Set();

function itemsOf(body) {
  if (Array.isArray(body)) return body;
  return body?.items ?? body?.data ?? [];
}

/**
 * Every item of a list endpoint. Asks for pages of 100 and follows `X-Pagination` (flask-smorest:
 * {total, total_pages, page, next_page, ...}); an endpoint that does not paginate (no header, or
 * a 422 for the unknown page arguments) is read in one request.
 */
export async function list(path, query = {}) {
  if (!unpaginated.has(path)) {
    try {
      const items = [];
      let page = 1;
      for (let count = 0; count < MAX_PAGES && page; count += 1) {
        const response = await request('GET', path, {
          query: { ...query, page, page_size: 100 }, raw: true,
        });
        items.push(...itemsOf(await response.json()));
        const header = response.headers.get('X-Pagination');
        if (!header) break;
        page = JSON.parse(header).next_page ?? null;
      }
      return items;
    } catch (error) {
      if (!(error instanceof ApiError && (error.status === 422 || error.status === 400))) throw error;
      unpaginated.add(path);
    }
  }
  return itemsOf(await request('GET', path, { query }));
}

/**
 * Multipart upload with progress: XMLHttpRequest reports bytes sent (fetch cannot). Resolves
 * with the 202 body; a 401 is retried once after a token refresh.
 */
export function upload(path, formData, onProgress, retry = true) {
  const key = idempotencyKey();
  const attempt = () => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', BASE + path);
    if (session.token) xhr.setRequestHeader('Authorization', `Bearer ${session.token}`);
    xhr.setRequestHeader('Idempotency-Key', key);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener('load', () => {
      const body = xhr.response || {};
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body, xhr.getResponseHeader('X-Request-Id')));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, {
      message: 'the upload was interrupted (network error)' })));
    xhr.send(formData);
  });
  return attempt().catch(async (error) => {
    if (error.status === 401 && retry && await refreshTokens()) return attempt();
    if (error.status === 401) signedOut();
    throw error;
  });
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * Poll GET /jobs/{id} until the job ends; `onUpdate(job)` sees every state (progress, stage).
 * `isCurrent()` returning false stops polling (the user left the page): resolves null then.
 */
export async function waitForJob(jobId, onUpdate = () => {}, isCurrent = () => true) {
  let delay = 500;
  let failures = 0;
  for (;;) {
    if (!isCurrent()) return null;
    let job;
    try {
      job = await api.get(`/jobs/${encodeURIComponent(jobId)}`);
      failures = 0;
    } catch (error) {
      // A restart or a dropped connection while the job runs: keep polling a little while.
      const transient = error.status === 0 || error.status === 429 || error.status >= 502;
      failures += 1;
      if (!transient || failures > 10) throw error;
      await sleep(2000);
      continue;
    }
    onUpdate(job);
    if (TERMINAL.has(job.status)) return job;
    await sleep(delay);
    delay = Math.min(delay * 1.3, 2000);
  }
}
