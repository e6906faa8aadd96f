// api.js: the page's calls to the gateway it was served by (relative
// URLs, so the page works behind a proxy that mounts it under a path).
//
// Every failure comes back as a GatewayError with the gateway's own error
// body when there is one ({"error": {code, message, data: {field,
// details}}}), so the page can put it next to the field it names or in
// the banner.  The bearer token, when the gateway needs one, lives in this
// module's memory only: it is never written to storage, and reloading the
// page forgets it.

// Longer than the gateway's suitd_timeout (10 s) plus connect_timeout
// (1 s), so the gateway's own 504 arrives first when suitd is slow.
const TIMEOUT_MS = 15000;

let token = null;

export function setToken(t) {
  token = t ? String(t) : null;
}

export function hasToken() {
  return token !== null;
}

export class GatewayError extends Error {
  // status: the HTTP status (0: no answer at all); error: the error
  // object of the body, or null; retryAfter: seconds, or null.
  constructor(message, status, error, retryAfter) {
    super(message);
    this.status = status;
    this.error = error;
    this.retryAfter = retryAfter;
  }

  get field() {
    return (this.error && this.error.data && this.error.data.field) || null;
  }

  get details() {
    const d = this.error && this.error.data && this.error.data.details;
    return Array.isArray(d) ? d : [];
  }
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
      referrerPolicy: 'no-referrer',
      signal: abort.signal,
    });
  } catch (e) {
    const msg = abort.signal.aborted
      ? `the gateway did not answer within ${TIMEOUT_MS / 1000} s`
      : 'the gateway cannot be reached (is suit-httpd running?)';
    throw new GatewayError(msg, 0, null, null);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  const text = await resp.text().catch(() => '');
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (resp.ok && data !== null && typeof data === 'object') return data;
  const err = data && typeof data === 'object' && data.error && typeof data.error === 'object'
    ? data.error : null;
  const ra = Number.parseInt(resp.headers.get('Retry-After') || '', 10);
  const msg = err && typeof err.message === 'string' ? err.message
    : resp.ok ? 'the gateway sent an answer that is not JSON'
      : `the gateway answered ${resp.status} ${resp.statusText}`.trim();
  throw new GatewayError(msg, resp.ok ? 502 : resp.status, err, Number.isFinite(ra) ? ra : null);
}

export function getRuleset() {
  return call('GET', 'v1/ruleset');
}

export function assess(patient, explain) {
  return call('POST', 'v1/assess', { patient, options: { explain: !!explain } });
}
