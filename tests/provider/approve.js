#!/usr/bin/env node
// A scripted "browser" for the device flow: drives the provider's own HTML pages with a cookie jar,
// exactly as a user would (device page -> user code -> confirm -> login -> consent).
//
//   node approve.js <issuer> <user_code> [--deny] [--user alice] [--password pw]
//
// Prints `approved` or `denied` and exits 0; exits 1 with a message on stderr otherwise.
//
// With --browse it is the browser of the code flow (issue 20), started by `tok login` through
// $BROWSER with the authorization URL appended; its output goes nowhere, so every step is
// appended as a JSON line to the --log file:
//
//   node approve.js --browse --log FILE [--mode MODE] <authorization_url>
//
// MODE: approve (default), deny, wrong-state, origin, twice, favicon, wrong-iss, steal, close (see
// codeFlow below).
// TLS: trusts NODE_EXTRA_CA_CERTS (Node's default store) or, if set, only the PEM in CA_FILE.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

function usage(msg) {
  if (msg) console.error(`approve.js: ${msg}`);
  console.error('usage: node approve.js <issuer> <user_code> [--deny] [--user NAME] [--password PW]');
  process.exit(2);
}

const args = process.argv.slice(2);
const pos = [];
const opt = { deny: false, user: 'alice', password: 'pw', browse: false, mode: 'approve', log: undefined };
for (let i = 0; i < args.length; i += 1) {
  const a = args[i];
  if (a === '--deny') opt.deny = true;
  else if (a === '--browse') opt.browse = true;
  else if (a === '--user' || a === '--password' || a === '--mode' || a === '--log') {
    if (args[i + 1] === undefined) usage(`${a} needs a value`);
    opt[a.slice(2)] = args[i += 1];
  } else if (a.startsWith('--')) usage(`unknown option ${a}`);
  else pos.push(a);
}
if (pos.length !== (opt.browse ? 1 : 2)) usage();
const [issuer, userCode] = pos;
const ca = process.env.CA_FILE ? fs.readFileSync(process.env.CA_FILE) : undefined;

function note(entry) {
  if (opt.log) fs.appendFileSync(opt.log, `${JSON.stringify(entry)}\n`);
}
function fail(msg) {
  note({ step: 'fail', error: msg });
  console.error(`approve.js: ${msg}`);
  process.exit(1);
}

// --- minimal cookie jar (single host: match on path only) ---------------------------------
const jar = new Map(); // `${name};${path}` -> { name, value, path }
function storeCookies(setCookie = []) {
  for (const line of setCookie) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = value === '';
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      if (k.toLowerCase() === 'path') path = v || '/';
      if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
    }
    if (expired) jar.delete(`${name};${path}`);
    else jar.set(`${name};${path}`, { name, value, path });
  }
}
function cookieHeader(pathname) {
  return [...jar.values()]
    .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
    .map((c) => `${c.name}=${c.value}`).join('; ');
}

// --- one HTTP exchange, no automatic redirects ----------------------------------------------
function request(method, url, form, extra = {}) {
  const u = new URL(url);
  const body = form ? new URLSearchParams(form).toString() : undefined;
  const headers = { accept: 'text/html', ...extra };
  const cookie = cookieHeader(u.pathname);
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = Buffer.byteLength(body);
  }
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, html: Buffer.concat(chunks).toString('utf8'), url }));
    });
    req.setTimeout(15000, () => req.destroy(new Error(`timeout on ${method} ${u.pathname}`)));
    req.on('error', reject);
    req.end(body);
  });
}

// Request and follow redirects (303/302 -> GET), keeping cookies, like a browser.
async function browse(method, url, form) {
  let res = await request(method, url, form);
  storeCookies(res.headers['set-cookie']);
  for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.location; hops += 1) {
    if (hops > 10) fail('too many redirects');
    const next = new URL(res.headers.location, res.url).href;
    res = await request('GET', next);
    storeCookies(res.headers['set-cookie']);
  }
  return res;
}

// --- HTML form scraping ------------------------------------------------------------------------
const unescape = (s) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
  .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(parseInt(n, 16)))
  .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const attr = (tag, name) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag);
  return m ? unescape(m[1]) : undefined;
};
function findForm(res, id) {
  for (const m of res.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    if (attr(m[1], 'id') !== id) continue;
    const fields = {};
    for (const input of m[2].matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name');
      if (name) fields[name] = attr(input[0], 'value') ?? '';
    }
    return { action: new URL(attr(m[1], 'action') || res.url, res.url).href, fields };
  }
  return undefined;
}
function pageError(res) {
  const m = /<p id="(error|aborted)">([\s\S]*?)<\/p>/.exec(res.html);
  return m ? unescape(m[2]) : `HTTP ${res.status} at ${new URL(res.url).pathname}`;
}
function expectForm(res, id, step) {
  const form = findForm(res, id);
  if (!form) fail(`${step}: expected form "${id}" but got: ${pageError(res)}`);
  return form;
}

// --- the code flow's browser (--browse) ---------------------------------------------------------
// Follows redirects like browse(), but stops at the redirect to tok's loopback listener, so
// that each mode decides what reaches it.
async function step(method, url, form) {
  let res = await request(method, url, form);
  storeCookies(res.headers['set-cookie']);
  for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.location; hops += 1) {
    if (hops > 10) fail('too many redirects');
    const next = new URL(res.headers.location, res.url).href;
    if (next.startsWith('http://127.0.0.1:') && !next.startsWith(new URL(url).origin)) return { res, callback: next };
    res = await request('GET', next);
    storeCookies(res.headers['set-cookie']);
  }
  return { res };
}
// One request to tok's listener: its status and page title, or the connection error.
async function hit(name, url, headers = {}) {
  try {
    const res = await request('GET', url, undefined, headers);
    const title = /<title>([^<]*)<\/title>/.exec(res.html)?.[1];
    note({ step: name, status: res.status, title, page: res.html });
  } catch (err) {
    note({ step: name, error: err.code || err.message });
  }
}
// MODE: approve (sign in, consent, return to tok); deny (refuse consent: error=access_denied);
// wrong-state (first a return with a forged state, then the real one); origin (first a return
// with a foreign Origin header, then the real one); twice (the real return, then it again);
// favicon (a favicon request first); wrong-iss (the return names another issuer, RFC 9207); steal (redeem the code at the token endpoint without the
// PKCE verifier, as a thief would, and never return to tok); close (open the page, then leave:
// the user closed the browser).
async function codeFlow(authUrl) {
  note({ step: 'start', mode: opt.mode });
  let { res, callback } = await step('GET', authUrl);
  if (opt.mode === 'close') return note({ step: 'closed', status: res.status });
  if (!callback) {
    const login = findForm(res, 'login');
    if (login) ({ res, callback } = await step('POST', login.action, { login: opt.user, password: opt.password }));
  }
  if (!callback) {
    const decision = expectForm(res, opt.mode === 'deny' ? 'deny' : 'approve', 'consent');
    ({ res, callback } = await step('POST', decision.action, decision.fields));
  }
  if (!callback) fail(`no redirect to tok: ${pageError(res)}`);
  const cb = new URL(callback);
  if (opt.mode === 'steal') {
    const origin = new URL(authUrl).origin;
    const q = new URL(authUrl).searchParams;
    const form = {
      grant_type: 'authorization_code', code: cb.searchParams.get('code'),
      redirect_uri: q.get('redirect_uri'), client_id: q.get('client_id'),
    };
    const r = await request('POST', `${origin}/token`, form, { accept: 'application/json' });
    let body = {};
    try { body = JSON.parse(r.html); } catch { body = { unreadable: r.html.slice(0, 200) }; }
    return note({
      step: 'stolen', status: r.status, error: body.error, error_description: body.error_description, got_token: Boolean(body.access_token),
    });
  }
  if (opt.mode === 'wrong-state') {
    const forged = new URL(callback);
    forged.searchParams.set('state', 'forged-state');
    await hit('forged', forged.href);
  }
  if (opt.mode === 'origin') await hit('foreign', callback, { origin: 'https://evil.example' });
  if (opt.mode === 'wrong-iss') {
    const mixed = new URL(callback);
    mixed.searchParams.set('iss', 'https://other-op.example');
    await hit('callback', mixed.href);
    return note({ step: 'done' });
  }
  if (opt.mode === 'favicon') await hit('favicon', `${cb.origin}/favicon.ico`);
  await hit('callback', callback);
  if (opt.mode === 'twice') await hit('again', callback);
  return note({ step: 'done' });
}

// --- the user journey ----------------------------------------------------------------------------
if (opt.browse) {
  try {
    await codeFlow(pos[0]);
  } catch (err) {
    fail(err.message);
  }
  process.exit(0);
}
try {
  let res = await browse('GET', new URL('/device', issuer).href);
  const input = expectForm(res, 'op.deviceInputForm', 'device page');
  res = await browse('POST', input.action, { ...input.fields, user_code: userCode });

  const confirm = expectForm(res, 'op.deviceConfirmForm', 'user code');
  res = await browse('POST', confirm.action, confirm.fields);

  // Login is skipped by the provider if the session is already authenticated.
  const login = findForm(res, 'login');
  if (login) {
    res = await browse('POST', login.action, { login: opt.user, password: opt.password });
  }

  const decision = expectForm(res, opt.deny ? 'deny' : 'approve', 'consent');
  res = await browse('POST', decision.action, decision.fields);

  if (!opt.deny && res.html.includes('id="success"')) {
    console.log('approved');
  } else if (opt.deny && res.html.includes('id="aborted"')) {
    console.log('denied');
  } else {
    fail(`unexpected final page: ${pageError(res)}`);
  }
} catch (err) {
  fail(err.message);
}
