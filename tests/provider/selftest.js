#!/usr/bin/env node
// End-to-end self-check of the test provider (not part of CI): makes a CA + leaf cert with
// openssl in a temp dir, starts server.js, drives the device flow with approve.js and exercises
// every /test/* endpoint.   Usage: node selftest.js   (after `npm ci`)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-provider-selftest-'));
const f = (n) => path.join(dir, n);
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

let passed = 0;
let failed = 0;
function check(name, cond, detail) {
  if (cond) { passed += 1; console.log(`ok   ${name}`); } else { failed += 1; console.log(`FAIL ${name}${detail !== undefined ? `: ${JSON.stringify(detail)}` : ''}`); }
}

// --- certificates --------------------------------------------------------------------------
const ossl = (...a) => execFileSync('openssl', a, { stdio: ['ignore', 'ignore', 'pipe'] });
ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=tok test CA');
ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', '/CN=127.0.0.1');
fs.writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
ossl('x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('leaf.pem'), '-days', '1', '-extfile', f('ext'));
const ca = fs.readFileSync(f('ca.pem'));

// --- start the provider ----------------------------------------------------------------------
// The main instance runs with token exchange on and the default delegation TTL; a second one with
// TOKEN_EXCHANGE=0 is started near the end.
function start(extraEnv = {}) {
  const proc = spawn(process.execPath, [path.join(here, 'server.js')], {
    env: {
      ...process.env, TLS_CERT: f('leaf.pem'), TLS_KEY: f('leaf.key'), PORT: '0', TOKEN_EXCHANGE: '1', DELEGATION_TTL: '604800', ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s = { proc, stdout: '', stderr: '' };
  proc.stderr.on('data', (d) => { s.stderr += d; });
  s.ready = new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      s.stdout += d;
      if (s.stdout.includes('\n')) resolve(JSON.parse(s.stdout.split('\n')[0]));
    });
    proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${s.stderr}`)));
    setTimeout(() => reject(new Error(`no ready line: ${s.stderr}`)), 15000);
  });
  return s;
}
const main = start();
const srv = main.proc;
const ready = await main.ready;
const { issuer } = ready;
check('ready line', ready.ready === true && issuer === `https://127.0.0.1:${ready.port}`, ready);

// --- HTTP helpers -------------------------------------------------------------------------------
// `form` may be an object or an array of [name, value] pairs (for repeated parameters).
function call(method, p, {
  form, json, headers = {}, timeout = 10000, base = issuer,
} = {}) {
  const body = form ? new URLSearchParams(form).toString() : json ? JSON.stringify(json) : undefined;
  if (body !== undefined) headers['content-type'] = form ? 'application/x-www-form-urlencoded' : 'application/json';
  return new Promise((resolve) => {
    const req = https.request(new URL(p, base), { method, headers, ca }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let parsed;
        try { parsed = JSON.parse(data); } catch { parsed = undefined; }
        resolve({
          status: res.statusCode, type: res.headers['content-type'], headers: res.headers, text: data, body: parsed,
        });
      });
    });
    req.setTimeout(timeout, () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => resolve({ status: 0, error: err.message }));
    req.end(body);
  });
}
const token = (form, opts) => call('POST', '/token', { form, ...opts });
const jwt = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const now = () => Math.floor(Date.now() / 1000);
const approve = (userCode, ...extra) => {
  try {
    const out = execFileSync(process.execPath, [path.join(here, 'approve.js'), issuer, userCode, ...extra], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: f('ca.pem') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out: out.toString().trim() };
  } catch (err) {
    return { code: err.status, out: `${err.stdout}`.trim(), err: `${err.stderr}`.trim() };
  }
};
const SCOPE = 'openid offline_access storage.read:/ storage.modify:/store compute.create';
async function deviceLogin(clientForm, user = 'alice', headers = {}) {
  const da = await call('POST', '/device/auth', { form: { ...clientForm, scope: SCOPE }, headers });
  const a = approve(da.body.user_code, '--user', user);
  const t = await token({ ...clientForm, grant_type: DEVICE, device_code: da.body.device_code }, { headers });
  return { da, a, t };
}

try {
  // Dynamic registration exactly as tok sends it.
  const reg = await call('POST', '/reg', {
    json: {
      client_name: 'tok', grant_types: [DEVICE, 'refresh_token'], response_types: [], token_endpoint_auth_method: 'none',
    },
  });
  check('registration 201', reg.status === 201 && reg.body.client_id, reg.text);
  const client = { client_id: reg.body.client_id };

  const da = await call('POST', '/device/auth', { form: { ...client, scope: SCOPE } });
  check('device authorization', da.status === 200 && da.body.user_code && da.body.interval === 1 && da.body.verification_uri === `${issuer}/device`, da.body);
  const poll = () => token({ ...client, grant_type: DEVICE, device_code: da.body.device_code });

  let r = await poll();
  check('authorization_pending', r.body?.error === 'authorization_pending', r.body);
  await call('POST', '/test/slow_down', { json: { times: 2 } });
  const s1 = await poll();
  const s2 = await poll();
  r = await poll();
  check('slow_down x2 then pending', s1.status === 400 && s1.body.error === 'slow_down' && s2.body.error === 'slow_down' && r.body.error === 'authorization_pending', [s1.body, s2.body, r.body]);

  const bad = approve('BCDF-GHJK');
  check('approve.js wrong code fails', bad.code !== 0 && bad.err.includes('incorrect'), bad);

  const ap = approve(da.body.user_code);
  check('approve.js approves', ap.code === 0 && ap.out === 'approved', ap);

  r = await poll();
  check('device_code token', r.status === 200 && r.body.access_token && r.body.refresh_token, r.body);
  let at = jwt(r.body.access_token);
  console.log('     AT:', JSON.stringify({ 'wlcg.ver': at['wlcg.ver'], scope: at.scope, aud: at.aud, sub: at.sub }));
  check('WLCG AT claims', at['wlcg.ver'] === '1.0' && at.scope === 'storage.read:/ storage.modify:/store compute.create'
    && at.aud === 'https://wlcg.cern.ch/jwt/v1/any' && at.sub === 'alice' && at.iss === issuer && at.exp > at.iat && at.jti, at);
  let rt = r.body.refresh_token;

  const refresh = (extra) => token({ ...client, grant_type: 'refresh_token', refresh_token: rt, ...extra });
  r = await refresh({ scope: 'storage.read:/store', resource: 'https://se.example.org' });
  at = r.body?.access_token && jwt(r.body.access_token);
  console.log('     AT:', JSON.stringify({ 'wlcg.ver': at?.['wlcg.ver'], scope: at?.scope, aud: at?.aud }));
  check('refresh narrowed + resource', at && at.scope === 'storage.read:/store' && at.aud === 'https://se.example.org' && at['wlcg.ver'] === '1.0', r.body);

  r = await refresh({ scope: 'storage.modify:/store/sub compute.create', audience: 'https://aud.example.org' });
  at = r.body?.access_token && jwt(r.body.access_token);
  check('refresh with audience=', at && at.aud === 'https://aud.example.org' && at.scope === 'storage.modify:/store/sub compute.create', r.body);
  const st = (await call('GET', '/test/stats')).body;
  check('stats audience params', st.audience_params.audience === 1 && st.audience_params.resource === 1
    && st.last_token_request.audience === 'https://aud.example.org' && st.by_grant.refresh_token === 2, st);

  r = await refresh({ scope: 'storage.modify:/storefoo' });
  check('path prefix is not a component -> invalid_scope', r.status === 400 && r.body.error === 'invalid_scope', r.body);
  r = await refresh({ scope: 'compute.read' });
  check('ungranted scope -> invalid_scope', r.body?.error === 'invalid_scope', r.body);
  r = await refresh({ resource: 'http://plain.example.org' });
  check('non-https resource -> invalid_target', r.body?.error === 'invalid_target', r.body);
  r = await refresh({});
  check('plain refresh keeps full scope', r.status === 200 && jwt(r.body.access_token).scope === 'storage.read:/ storage.modify:/store compute.create' && r.body.refresh_token === rt, r.body);

  // Runtime config: rotation and access-token TTL.
  await call('POST', '/test/config', { json: { rotate: true, at_ttl: 5 } });
  r = await refresh({});
  const rotated = r.body?.refresh_token;
  check('rotation + at_ttl', r.status === 200 && rotated && rotated !== rt && r.body.expires_in === 5, r.body);
  const reuse = await refresh({});
  check('reuse of rotated RT -> invalid_grant', reuse.body?.error === 'invalid_grant', reuse.body);
  await call('POST', '/test/config', { json: { rotate: false, at_ttl: 3600 } });

  // Static clients, confidential with basic and post.
  const stat = await deviceLogin({ client_id: 'tok-static' }, 'bob');
  check('tok-static device flow', stat.a.out === 'approved' && stat.t.status === 200 && jwt(stat.t.body.access_token).sub === 'bob' && stat.t.body.refresh_token, stat.t.body);
  const basic = { authorization: `Basic ${Buffer.from('tok-confidential:s3cret-client').toString('base64')}` };
  const conf = await deviceLogin({}, 'carol', basic);
  check('tok-confidential client_secret_basic', conf.t.status === 200 && conf.t.body.refresh_token, conf.t.body);
  r = await token({ client_id: 'tok-confidential', client_secret: 's3cret-client', grant_type: 'refresh_token', refresh_token: conf.t.body.refresh_token, scope: 'storage.read:/x' });
  check('tok-confidential client_secret_post refresh', r.status === 200 && jwt(r.body.access_token).scope === 'storage.read:/x', r.body);

  // Revocation (RFC 7009) really removes the refresh token.
  rt = rotated;
  r = await call('POST', '/token/revocation', { form: { ...client, token: rt, token_type_hint: 'refresh_token' } });
  check('revocation 200', r.status === 200, r.text);
  let live = (await call('GET', '/test/refresh_tokens')).body;
  check('revoked RT gone from /test/refresh_tokens', Array.isArray(live) && !live.some((t) => t.client_id === client.client_id) && live.length === 2, live);
  r = await refresh({});
  check('revoked RT -> invalid_grant', r.body?.error === 'invalid_grant', r.body);
  check('stats counts', (await call('GET', '/test/stats')).body.revocations === 1, undefined);

  // Deny.
  const dd = await call('POST', '/device/auth', { form: { ...client, scope: SCOPE } });
  const dn = approve(dd.body.user_code, '--deny');
  check('approve.js --deny', dn.code === 0 && dn.out === 'denied', dn);
  r = await token({ ...client, grant_type: DEVICE, device_code: dd.body.device_code });
  check('denied -> access_denied', r.status === 400 && r.body.error === 'access_denied', r.body);

  // Fault injection on the token endpoint.
  const before = (await call('GET', '/test/stats')).body.token_requests;
  const stTok = stat.t.body.refresh_token;
  const sref = (opts) => token({ client_id: 'tok-static', grant_type: 'refresh_token', refresh_token: stTok }, opts);
  await call('POST', '/test/fault', { json: { mode: '500' } });
  r = await sref();
  check('fault 500', r.status === 500 && r.body?.error === 'server_error', r);
  await call('POST', '/test/fault', { json: { mode: 'garbage' } });
  r = await sref();
  check('fault garbage', r.status === 200 && r.text === '<html>not json' && r.type.startsWith('text/html'), r);
  await call('POST', '/test/fault', { json: { mode: 'close' } });
  r = await sref();
  check('fault close', r.status === 0, r);
  await call('POST', '/test/fault', { json: { mode: 'hang' } });
  r = await sref({ timeout: 1000 });
  check('fault hang', r.status === 0 && r.error === 'client timeout', r);
  const fr = await call('POST', '/test/fault', { json: { mode: 'slow', delay_ms: 700 } });
  const t0 = Date.now();
  r = await sref();
  check('fault slow', fr.body.mode === 'slow' && r.status === 200 && Date.now() - t0 >= 650, { ms: Date.now() - t0, r: r.body });
  await call('POST', '/test/fault', { json: { mode: 'none' } });
  check('faulted requests counted', (await call('GET', '/test/stats')).body.token_requests === before + 5, undefined);

  // --- RFC 8693 token exchange: offline delegation ---------------------------------------------
  const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
  const TT_AT = 'urn:ietf:params:oauth:token-type:access_token';
  const TT_RT = 'urn:ietf:params:oauth:token-type:refresh_token';
  const secrets = []; // every token value seen below; none may appear in the log
  const disco = (await call('GET', '/.well-known/openid-configuration')).body;
  check('discovery advertises token exchange', disco.grant_types_supported.includes(EXCHANGE), disco.grant_types_supported);
  const reg2 = await call('POST', '/reg', {
    json: {
      client_name: 'tok', grant_types: [DEVICE, 'refresh_token', EXCHANGE], response_types: [], token_endpoint_auth_method: 'none',
    },
  });
  check('registration with exchange grant 201', reg2.status === 201 && reg2.body.grant_types.includes(EXCHANGE), reg2.text);
  const xc = { client_id: reg2.body.client_id };
  const user = await deviceLogin(xc, 'dave');
  check('exchange client device flow', user.t.status === 200 && user.t.body.refresh_token, user.t.body);
  const userAt = user.t.body.access_token;
  const userRt = user.t.body.refresh_token;
  secrets.push(userAt, userRt);
  const userRefresh = () => token({ ...xc, grant_type: 'refresh_token', refresh_token: userRt });
  const exchange = (extra, subject = userAt, cl = xc) => token({
    ...cl, grant_type: EXCHANGE, subject_token: subject, subject_token_type: TT_AT, requested_token_type: TT_RT, ...extra,
  });
  const AUD1 = 'https://fts.example.org';
  const AUD2 = 'https://se.example.org';
  const DSCOPE = 'offline_access storage.read:/data storage.modify:/store';

  // Success: two audiences in one space-separated `audience`.
  let x = await exchange({ scope: DSCOPE, audience: `${AUD1} ${AUD2}` });
  const d1 = x.body?.refresh_token;
  secrets.push(d1);
  check('exchange response shape', x.status === 200 && d1 && x.body.access_token === d1
    && x.body.issued_token_type === TT_RT && x.body.token_type === 'N_A' && x.body.expires_in === 604800
    && x.body.refresh_token_expires_in === 604800 && x.body.scope === DSCOPE && x.headers['cache-control'] === 'no-store'
    && Object.keys(x.body).length === 7, x.body);
  let st2 = (await call('GET', '/test/stats')).body;
  check('exchange stats', st2.by_grant[EXCHANGE] === 1 && st2.last_token_request.grant_type === EXCHANGE
    && st2.last_token_request.requested_token_type === TT_RT && st2.last_token_request.subject_token_type === TT_AT, st2);
  let rows = (await call('GET', '/test/refresh_tokens')).body.filter((t) => t.client_id === xc.client_id);
  const drow = rows.find((t) => t.delegated);
  check('/test/refresh_tokens delegated + expires_at', rows.length === 2 && drow && drow.account_id === 'dave' && drow.scope === DSCOPE
    && Math.abs(drow.expires_at - (now() + 604800)) <= 2 && drow.grant_id !== rows.find((t) => !t.delegated).grant_id
    && rows.find((t) => !t.delegated).expires_at > now(), rows);

  // The delegated refresh token, narrowed in scope and audience.
  const dRefresh = (rtv, extra) => token({ ...xc, grant_type: 'refresh_token', refresh_token: rtv, ...extra });
  r = await dRefresh(d1, { scope: 'storage.read:/data/run1', audience: AUD2 });
  at = r.body?.access_token && jwt(r.body.access_token);
  secrets.push(r.body?.access_token);
  check('delegated refresh: narrowed scope + delegated audience', r.status === 200 && at.scope === 'storage.read:/data/run1'
    && at.aud === AUD2 && at.sub === 'dave' && at.client_id === xc.client_id && r.body.refresh_token === d1, r.body);
  r = await dRefresh(d1, { scope: 'storage.read:/data storage.modify:/store', resource: AUD1 });
  at = r.body?.access_token && jwt(r.body.access_token);
  check('delegated refresh: full delegated scope, resource=', r.status === 200 && at.scope === 'storage.read:/data storage.modify:/store' && at.aud === AUD1, r.body);
  r = await dRefresh(d1, { scope: 'storage.read:/', audience: AUD1 });
  check('delegated refresh: wider scope -> invalid_scope', r.body?.error === 'invalid_scope', r.body);
  r = await dRefresh(d1, { scope: 'compute.create', audience: AUD1 });
  check('delegated refresh: user scope not delegated -> invalid_scope', r.body?.error === 'invalid_scope', r.body);
  r = await dRefresh(d1, { audience: 'https://other.example.org' });
  check('delegated refresh: foreign audience -> invalid_target', r.body?.error === 'invalid_target' && /not delegated/.test(r.body.error_description), r.body);
  r = await dRefresh(d1, {});
  check('delegated refresh: two audiences, none chosen -> invalid_target', r.body?.error === 'invalid_target', r.body);
  r = await userRefresh();
  check('user RT still allows any audience', r.status === 200 && (await token({ ...xc, grant_type: 'refresh_token', refresh_token: userRt, audience: 'https://other.example.org' })).status === 200, r.body);

  // One audience (repeated `resource`, deduplicated) is the default audience; no audience = "any".
  x = await call('POST', '/token', {
    form: [['client_id', xc.client_id], ['grant_type', EXCHANGE], ['subject_token', userAt], ['subject_token_type', TT_AT],
      ['requested_token_type', TT_RT], ['scope', 'openid offline_access compute.create'], ['resource', AUD1], ['resource', AUD1]],
  });
  secrets.push(x.body?.refresh_token);
  r = x.status === 200 ? await dRefresh(x.body.refresh_token, {}) : x;
  at = r.body?.access_token && jwt(r.body.access_token);
  check('exchange with repeated resource, openid', x.body?.scope === 'openid offline_access compute.create' && at?.aud === AUD1 && at.scope === 'compute.create' && r.body.id_token, [x.body, r.body]);
  x = await exchange({ scope: 'offline_access storage.read:/' });
  secrets.push(x.body?.refresh_token);
  r = x.status === 200 ? await dRefresh(x.body.refresh_token, {}) : x;
  at = r.body?.access_token && jwt(r.body.access_token);
  const r2 = x.status === 200 ? await dRefresh(x.body.refresh_token, { audience: AUD1 }) : x;
  check('exchange without audience -> wlcg any only', at?.aud === 'https://wlcg.cern.ch/jwt/v1/any' && at.scope === 'storage.read:/' && r2.body?.error === 'invalid_target', [x.body, r.body, r2.body]);

  // The static clients have the grant too (public, and confidential with client_secret_basic).
  x = await exchange({ scope: 'offline_access storage.read:/' }, stat.t.body.access_token, { client_id: 'tok-static' });
  const xConf = await token({
    grant_type: EXCHANGE, subject_token: conf.t.body.access_token, subject_token_type: TT_AT, requested_token_type: TT_RT, scope: 'offline_access compute.create',
  }, { headers: basic });
  secrets.push(x.body?.refresh_token, xConf.body?.refresh_token);
  check('static clients can exchange', x.status === 200 && xConf.status === 200 && xConf.body.scope === 'offline_access compute.create', [x.body, xConf.body]);

  // Refused exchanges.
  const refused = async (name, extra, error, subject, cl) => {
    const e = await exchange(extra, subject, cl);
    check(`exchange refused: ${name} -> ${error}`, e.status === 400 && e.body?.error === error && e.body.error_description, e.body);
  };
  const tampered = `${userAt.slice(0, -4)}${userAt.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
  await refused('wider WLCG scope', { scope: 'offline_access storage.modify:/', audience: AUD1 }, 'invalid_scope');
  await refused('scope not held', { scope: 'offline_access compute.read' }, 'invalid_scope');
  await refused('path prefix not a component', { scope: 'offline_access storage.modify:/storefoo' }, 'invalid_scope');
  await refused('no offline_access', { scope: 'storage.read:/data', audience: AUD1 }, 'invalid_scope');
  await refused('non-WLCG scope', { scope: 'offline_access profile' }, 'invalid_scope');
  await refused('http audience', { scope: DSCOPE, audience: 'http://fts.example.org' }, 'invalid_target');
  await refused('requested_token_type access_token', { scope: DSCOPE, requested_token_type: TT_AT }, 'invalid_request');
  await refused('no requested_token_type', { scope: DSCOPE, requested_token_type: '' }, 'invalid_request');
  await refused('subject_token_type id_token', { scope: DSCOPE, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'invalid_request');
  await refused('tampered subject token', { scope: DSCOPE }, 'invalid_grant', tampered);
  await refused('garbage subject token', { scope: DSCOPE }, 'invalid_grant', 'not-a-jwt');
  await refused('ID token as subject', { scope: DSCOPE }, 'invalid_grant', user.t.body.id_token);
  await refused('subject token of another client', { scope: 'offline_access' }, 'invalid_grant', stat.t.body.access_token);
  await refused('client registered without the grant', { scope: DSCOPE }, 'invalid_request', userAt, client);

  // Rotation: the delegated refresh token stays delegated, keeps its audiences and its expiry.
  x = await exchange({ scope: DSCOPE, audience: AUD1 });
  const d2 = x.body?.refresh_token;
  secrets.push(d2);
  const d2row = (await call('GET', '/test/refresh_tokens')).body.find((t) => t.delegated && t.scope === DSCOPE && t.grant_id !== drow.grant_id);
  const expBefore = d2row?.expires_at;
  await call('POST', '/test/config', { json: { rotate: true } });
  await sleep(1100);
  r = await dRefresh(d2, { scope: 'storage.modify:/store/x' });
  const d2r = r.body?.refresh_token;
  secrets.push(d2r, r.body?.access_token);
  // The consumed original is no longer listed: the one live row on that grant is the new token.
  rows = (await call('GET', '/test/refresh_tokens')).body.filter((t) => t.grant_id === d2row?.grant_id);
  check('rotation of delegated RT keeps delegation + expiry', r.status === 200 && d2r && d2r !== d2 && jwt(r.body.access_token).aud === AUD1
    && jwt(r.body.access_token).scope === 'storage.modify:/store/x' && expBefore && rows.length === 1 && rows[0].delegated
    && rows[0].expires_at === expBefore && rows[0].scope === DSCOPE, { expBefore, rows });
  r = await dRefresh(d2r, { audience: AUD2 });
  check('rotated delegated RT: foreign audience -> invalid_target', r.body?.error === 'invalid_target', r.body);
  r = await dRefresh(d2, {});
  const r3 = await dRefresh(d2r, {});
  check('reuse of rotated delegated RT revokes the delegated grant', r.body?.error === 'invalid_grant' && r3.body?.error === 'invalid_grant', [r.body, r3.body]);
  await call('POST', '/test/config', { json: { rotate: false } });
  r = await userRefresh();
  check('user RT survives delegated reuse detection', r.status === 200, r.body);

  // Short TTLs: a delegated RT expires with DELEGATION_TTL, an expired subject token is refused.
  let cfg = await call('POST', '/test/config', { json: { delegation_ttl: 2, at_ttl: 1 } });
  check('config delegation_ttl', cfg.body?.delegation_ttl === 2 && cfg.body.at_ttl === 1 && cfg.body.rotate === false, cfg.body);
  cfg = await call('POST', '/test/config', { json: { delegation_ttl: -5 } });
  check('config bad delegation_ttl -> 400', cfg.status === 400, cfg.text);
  const shortAt = (await userRefresh()).body?.access_token;
  x = await exchange({ scope: DSCOPE, audience: AUD1 });
  const d3 = x.body?.refresh_token;
  secrets.push(shortAt, d3);
  check('exchange with delegation_ttl 2', x.status === 200 && x.body.expires_in === 2 && x.body.refresh_token_expires_in === 2, x.body);
  await call('POST', '/test/config', { json: { delegation_ttl: 604800, at_ttl: 3600 } });
  await sleep(2100);
  r = await dRefresh(d3, {});
  check('expired delegated RT -> invalid_grant', r.body?.error === 'invalid_grant', r.body);
  await refused('expired subject token', { scope: DSCOPE }, 'invalid_grant', shortAt);

  // Revocation (RFC 7009): each side only kills its own grant.
  r = await call('POST', '/token/revocation', { form: { ...xc, token: d1, token_type_hint: 'refresh_token' } });
  const dRevoked = await dRefresh(d1, { audience: AUD1 });
  r = await userRefresh();
  check('revoking the delegated RT leaves the user RT', dRevoked.body?.error === 'invalid_grant' && r.status === 200, [dRevoked.body, r.body]);
  x = await exchange({ scope: DSCOPE, audience: AUD1 });
  const d4 = x.body?.refresh_token;
  secrets.push(d4);
  await call('POST', '/token/revocation', { form: { ...xc, token: userRt, token_type_hint: 'refresh_token' } });
  r = await userRefresh();
  const r4 = await dRefresh(d4, {});
  check('revoking the user RT leaves the delegated RT', r.body?.error === 'invalid_grant' && r4.status === 200 && jwt(r4.body.access_token).aud === AUD1, [r.body, r4.body]);
  secrets.push(r4.body?.access_token);

  // TOKEN_EXCHANGE=0: not registered at all.
  const off = start({ TOKEN_EXCHANGE: '0' });
  const offReady = await off.ready;
  const base = offReady.issuer;
  const offDisco = (await call('GET', '/.well-known/openid-configuration', { base })).body;
  const offReg = await call('POST', '/reg', {
    base,
    json: {
      client_name: 'tok', grant_types: [DEVICE, 'refresh_token', EXCHANGE], response_types: [], token_endpoint_auth_method: 'none',
    },
  });
  const offOld = await call('POST', '/reg', {
    base, json: { client_name: 'tok', grant_types: [DEVICE, 'refresh_token'], response_types: [], token_endpoint_auth_method: 'none' },
  });
  const offX = await call('POST', '/token', {
    base,
    form: {
      client_id: 'tok-static', grant_type: EXCHANGE, subject_token: 'x', subject_token_type: TT_AT, requested_token_type: TT_RT, scope: 'offline_access',
    },
  });
  check('TOKEN_EXCHANGE=0: not advertised, not registrable, unsupported', offDisco && !offDisco.grant_types_supported.includes(EXCHANGE)
    && offDisco.grant_types_supported.includes('refresh_token') && offReg.status === 400 && offReg.body?.error === 'invalid_client_metadata'
    && offOld.status === 201 && offX.body?.error === 'unsupported_grant_type', [offDisco?.grant_types_supported, offReg.body, offOld.status, offX.body]);
  const offExit = new Promise((resolve) => { off.proc.on('exit', (code) => resolve(code)); });
  off.proc.kill('SIGTERM');
  check('TOKEN_EXCHANGE=0 instance exits', await offExit === 0, undefined);

  check('no exchanged token values in logs', secrets.every((t) => typeof t === 'string' && t.length > 10 && !main.stderr.includes(t)), secrets.map((t) => typeof t));

  // Forget everything -> invalid_grant.
  await call('POST', '/test/forget');
  r = await sref();
  live = (await call('GET', '/test/refresh_tokens')).body;
  check('forget -> invalid_grant', r.body?.error === 'invalid_grant' && live.length === 0, r.body);

  check('no token values in logs', !main.stderr.includes(stTok) && !main.stderr.includes(rt), undefined);
  check('stdout has only the ready line', main.stdout.trim().split('\n').length === 1, main.stdout);
} catch (err) {
  check('no exception', false, err.stack);
}

const exited = new Promise((resolve) => { srv.on('exit', (code, sig) => resolve({ code, sig })); });
srv.kill('SIGTERM');
const ex = await Promise.race([exited, new Promise((r) => { setTimeout(() => r('timeout'), 3000); })]);
check('clean exit on SIGTERM', ex.code === 0, ex);
if (ex === 'timeout') srv.kill('SIGKILL');
if (failed || process.env.SELFTEST_VERBOSE) console.error(main.stderr);
fs.rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
