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
const srv = spawn(process.execPath, [path.join(here, 'server.js')], {
  env: { ...process.env, TLS_CERT: f('leaf.pem'), TLS_KEY: f('leaf.key'), PORT: '0' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let stdout = '';
let stderr = '';
srv.stderr.on('data', (d) => { stderr += d; });
const ready = await new Promise((resolve, reject) => {
  srv.stdout.on('data', (d) => {
    stdout += d;
    if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0]));
  });
  srv.on('exit', (c) => reject(new Error(`server exited ${c}: ${stderr}`)));
  setTimeout(() => reject(new Error(`no ready line: ${stderr}`)), 15000);
});
const { issuer } = ready;
check('ready line', ready.ready === true && issuer === `https://127.0.0.1:${ready.port}`, ready);

// --- HTTP helpers -------------------------------------------------------------------------------
function call(method, p, { form, json, headers = {}, timeout = 10000 } = {}) {
  const body = form ? new URLSearchParams(form).toString() : json ? JSON.stringify(json) : undefined;
  if (body !== undefined) headers['content-type'] = form ? 'application/x-www-form-urlencoded' : 'application/json';
  return new Promise((resolve) => {
    const req = https.request(new URL(p, issuer), { method, headers, ca }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let parsed;
        try { parsed = JSON.parse(data); } catch { parsed = undefined; }
        resolve({ status: res.statusCode, type: res.headers['content-type'], text: data, body: parsed });
      });
    });
    req.setTimeout(timeout, () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => resolve({ status: 0, error: err.message }));
    req.end(body);
  });
}
const token = (form, opts) => call('POST', '/token', { form, ...opts });
const jwt = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
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

  // Forget everything -> invalid_grant.
  await call('POST', '/test/forget');
  r = await sref();
  live = (await call('GET', '/test/refresh_tokens')).body;
  check('forget -> invalid_grant', r.body?.error === 'invalid_grant' && live.length === 0, r.body);

  check('no token values in logs', !stderr.includes(stTok) && !stderr.includes(rt), undefined);
  check('stdout has only the ready line', stdout.trim().split('\n').length === 1, stdout);
} catch (err) {
  check('no exception', false, err.stack);
}

const exited = new Promise((resolve) => { srv.on('exit', (code, sig) => resolve({ code, sig })); });
srv.kill('SIGTERM');
const ex = await Promise.race([exited, new Promise((r) => { setTimeout(() => r('timeout'), 3000); })]);
check('clean exit on SIGTERM', ex.code === 0, ex);
if (ex === 'timeout') srv.kill('SIGKILL');
if (failed || process.env.SELFTEST_VERBOSE) console.error(stderr);
fs.rmSync(dir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
