// Test OpenID Provider for tok's integration tests: a real node-oidc-provider over HTTPS on
// 127.0.0.1 with WLCG-profile JWT access tokens, plus /test/* admin endpoints (stats, fault
// injection, runtime config). See README.md for the interface.
//
// stdout carries exactly one line (the ready line); everything else goes to stderr. oidc-provider
// prints notices with console.info, so console.log/info are redirected *before* it is imported.
console.log = console.error;
console.info = console.error;

import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import querystring from 'node:querystring';

const { default: Provider, errors } = await import('oidc-provider');

const env = (name, dflt) => (process.env[name] === undefined || process.env[name] === '' ? dflt : process.env[name]);
const log = (...args) => console.error('[provider]', ...args);

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const WLCG_ANY = 'https://wlcg.cern.ch/jwt/v1/any';

const isPositiveInt = (n) => Number.isInteger(n) && n > 0;

// Runtime-changeable state (POST /test/config, /test/fault, /test/slow_down).
const state = {
  rotate: env('ROTATE', '0') === '1',
  atTtl: Number(env('AT_TTL', '3600')),
  // Lifetime of delegated refresh tokens (token exchange), fixed when the exchange happens.
  delegationTtl: Number(env('DELEGATION_TTL', '604800')),
  fault: { mode: 'none', delay_ms: 2000 },
  slowDown: 0,
  // Behaviours of other provider implementations, switched on per test (POST /test/config):
  // refuse every registration with an RFC 7591 error body; refuse revocation to public clients
  // with 401 and no body; ignore `scope` on refresh (full-scope tokens for narrowed requests).
  registrationError: false,
  revocationRefusePublic: false,
  ignoreRefreshScope: false,
  // How the provider says when a login ends (issue 20; POST /test/config {"login_end": …}).
  loginEnd: null,
  // Issue 20: refuse registrations that ask for the authorization_code grant (a provider that
  // allows only device clients), to see tok fall back to a device-only registration.
  registrationRefuseCode: false,
};
const DEVICE_TTL = Number(env('DEVICE_TTL', '600'));
const DEVICE_INTERVAL = Number(env('DEVICE_INTERVAL', '1'));
// `0` leaves the token-exchange grant unregistered: not advertised, unsupported_grant_type.
const TOKEN_EXCHANGE = env('TOKEN_EXCHANGE', '1') !== '0';
if (!isPositiveInt(state.delegationTtl)) {
  log('DELEGATION_TTL must be a positive integer (seconds)');
  process.exit(2);
}

const stats = {
  token_requests: 0,
  by_grant: {},
  device_authorizations: 0,
  registrations: 0,
  revocations: 0,
  audience_params: { resource: 0, audience: 0 },
  last_token_request: null,
};

// ---------------------------------------------------------------------------------------------
// WLCG scopes. They are not static OIDC scopes: they are resource-server scopes whose set is
// computed per request (see getResourceServerInfo), and storage scopes are hierarchical.
const WLCG_SCOPE = /^(storage\.(read|modify|create|stage):\/\S*|compute\.(read|create|modify|cancel)|wlcg|wlcg\.groups(:\S+)?)$/;
const isWlcg = (s) => WLCG_SCOPE.test(s);

// Does granted scope `g` cover requested scope `r`? `storage.X:/a` covers `storage.X:/a/b` but not
// `storage.X:/ab` (whole path components only); everything else must match exactly.
function covers(g, r) {
  if (g === r) return true;
  const gm = /^(storage\.[a-z]+):(\/.*)$/.exec(g);
  const rm = /^(storage\.[a-z]+):(\/.*)$/.exec(r);
  if (!gm || !rm || gm[1] !== rm[1]) return false;
  const gp = gm[2].replace(/\/+$/, '');
  return gp === '' || rm[2] === gp || rm[2].startsWith(`${gp}/`);
}
const coveredBy = (granted, r) => [...granted].some((g) => covers(g, r));

// Per-request data that model getters below need (they get no ctx): requested scopes/resource.
const als = new AsyncLocalStorage();

// ---------------------------------------------------------------------------------------------
// Map-based adapter: everything in one Map so /test/* can inspect and wipe storage.
const store = new Map(); // key `${model}:${id}` -> { payload, expiresAt (ms) }
const epoch = () => Math.floor(Date.now() / 1000);

class MapAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  static live(entry) { return entry && !(entry.expiresAt && entry.expiresAt <= Date.now()); }

  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : 0 });
  }

  async find(id) {
    const entry = store.get(this.key(id));
    return MapAdapter.live(entry) ? entry.payload : undefined;
  }

  findBy(pred) {
    for (const [k, entry] of store) {
      if (k.startsWith(`${this.model}:`) && MapAdapter.live(entry) && pred(entry.payload)) return entry.payload;
    }
    return undefined;
  }

  async findByUserCode(userCode) { return this.findBy((p) => p.userCode === userCode); }

  async findByUid(uid) { return this.findBy((p) => p.uid === uid); }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = epoch();
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    for (const [k, entry] of store) {
      if (entry.payload.grantId === grantId) store.delete(k);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Interaction/device pages: deliberately plain HTML so approve.js (or a human) can drive them.
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;

const deviceFlow = {
  enabled: true,
  charset: 'base-20',
  mask: '****-****',
  userCodeInputSource(ctx, form, out, err) {
    let msg = '<p>Enter the code displayed on your device</p>';
    if (err && (err.userCode || err.name === 'NoCodeError')) msg = '<p id="error">The code you entered is incorrect.</p>';
    else if (err && err.name === 'AbortedError') msg = '<p id="aborted">The sign-in request was aborted.</p>';
    else if (err) msg = `<p id="error">Error: ${esc(err.message)}</p>`;
    ctx.body = page('Device sign-in', `${msg}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
  },
  userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
    ctx.body = page('Confirm device', `<p>Client <b>${esc(client.clientName || client.clientId)}</b> shows code <code>${esc(userCode)}</code>.</p>${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Cancel</button>`);
  },
  successSource(ctx) {
    ctx.body = page('Sign-in success', '<p id="success">Your device is now signed in. You can close this page.</p>');
  },
};

// ---------------------------------------------------------------------------------------------
function loadTls() {
  const cert = env('TLS_CERT');
  const key = env('TLS_KEY');
  if (!cert || !key) {
    log('TLS_CERT and TLS_KEY must point to PEM files');
    process.exit(2);
  }
  return { cert: fs.readFileSync(cert), key: fs.readFileSync(key) };
}

// The issuer must contain the port, so listen first (PORT=0 picks a free one), then build the
// provider and attach its handler.
const server = https.createServer(loadTls());
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(env('PORT', '0')), '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `https://127.0.0.1:${port}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'tok-test-rs256', use: 'sig', alg: 'RS256' };

const publicKey = crypto.createPublicKey(privateKey);

const publicClient = {
  grant_types: [DEVICE_GRANT, 'refresh_token', ...(TOKEN_EXCHANGE ? [EXCHANGE_GRANT] : [])],
  response_types: [],
  redirect_uris: [],
};

// Issue 20 (code flow): an administrator-made client with the authorization-code grant only
// (no device grant), for a loopback redirect on any port (RFC 8252: `native`).
const codeOnlyClient = {
  client_id: 'tok-code-only',
  client_name: 'tok-code-only',
  application_type: 'native',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/callback'],
  token_endpoint_auth_method: 'none',
};

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
  clients: [
    { ...publicClient, client_id: 'tok-static', client_name: 'tok-static', token_endpoint_auth_method: 'none' },
    {
      ...publicClient,
      client_id: 'tok-confidential',
      client_name: 'tok-confidential',
      client_secret: 's3cret-client',
      // client_secret_basic and client_secret_post are interchangeable in oidc-provider.
      token_endpoint_auth_method: 'client_secret_basic',
    },
    codeOnlyClient,
  ],
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  claims: { openid: ['sub'] },
  scopes: ['openid', 'offline_access'],
  pkce: { required: () => false },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    deviceFlow,
    revocation: { enabled: true },
    introspection: { enabled: true },
    registration: { enabled: true, initialAccessToken: false },
    resourceIndicators: {
      enabled: true,
      // WLCG profile: without an explicit audience the token is for "any" resource server.
      defaultResource: async (ctx, client, oneOf) => oneOf || WLCG_ANY,
      // Keep refreshing for the resource the grant was issued for (otherwise openid+userinfo
      // would make oidc-provider issue an opaque userinfo token).
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource) => {
        if (URL.parse(resource)?.protocol !== 'https:') {
          throw new errors.InvalidTarget('resource must be an https URI');
        }
        return {
          scope: [...requestWlcgScopes(ctx)].join(' '),
          audience: resource,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: async (ctx, token) => (token.kind === 'AccessToken' ? { 'wlcg.ver': '1.0' } : undefined),
  issueRefreshToken: async (ctx, client, source) => client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access'),
  rotateRefreshToken: () => state.rotate,
  ttl: {
    AccessToken: () => state.atTtl,
    DeviceCode: DEVICE_TTL,
    // A delegated refresh token keeps the expiry fixed at the exchange, also when rotated.
    RefreshToken: (ctx, token) => (isDelegated(token) ? delegatedTtlLeft(ctx, token) : 14 * 24 * 3600),
    Grant: 14 * 24 * 3600,
    Session: 24 * 3600,
    Interaction: 3600,
    IdToken: 3600,
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<p id="error">${esc(out.error)}: ${esc(out.error_description)}</p>`);
  },
});

// The resource server's scope set = the WLCG scopes present anywhere in this request (request
// params, the device code / refresh token being exchanged). The grant check decides what is
// actually granted; this only keeps oidc-provider from dropping dynamic scopes.
function requestWlcgScopes(ctx) {
  const out = new Set();
  const e = ctx.oidc?.entities ?? {};
  const sources = [
    ctx.oidc?.params?.scope, e.DeviceCode?.scope, e.DeviceCode?.params?.scope,
    e.RefreshToken?.scope, [...(als.getStore()?.scopes ?? [])].join(' '),
  ];
  for (const s of sources) {
    for (const sc of (typeof s === 'string' ? s.split(' ') : [])) if (isWlcg(sc)) out.add(sc);
  }
  return out;
}

// --- Patches that make oidc-provider follow WLCG semantics ----------------------------------
// 1. Refresh with a narrowed scope: the refresh grant only accepts exact subsets of
//    refreshToken.scopes. Expose hierarchically covered requested scopes as part of the token's
//    scope set for this request only (the stored scope string is unchanged, so rotation copies
//    the original grant scope).
Object.defineProperty(provider.RefreshToken.prototype, 'scopes', {
  configurable: true,
  get() {
    const set = new Set(this.scope?.split(' ').filter(Boolean));
    for (const r of als.getStore()?.scopes ?? []) if (!set.has(r) && coveredBy(set, r)) set.add(r);
    return set;
  },
});
// 2. Audiences are requested at refresh time only (not at device authorization): allow any
//    https resource on refresh, not just the ones recorded in the refresh token. Delegated
//    refresh tokens are the exception: their `resource` is the list of delegated audiences and
//    nothing else may be asked for (this getter is only consulted by that membership check, so
//    throwing here just gives the error a useful description).
Object.defineProperty(provider.RefreshToken.prototype, 'resourceIndicators', {
  configurable: true,
  get() {
    const set = new Set(Array.isArray(this.resource) ? this.resource : [this.resource]);
    const r = als.getStore()?.resource;
    if (isDelegated(this)) {
      if (typeof r === 'string' && !set.has(r)) {
        throw new errors.InvalidTarget(`audience ${r} was not delegated to this refresh token`);
      }
      return set;
    }
    if (typeof r === 'string' && URL.parse(r)?.protocol === 'https:') set.add(r);
    return set;
  },
});
// 3. The grant decides which scopes an access token gets. Treat everything the user consented to
//    as valid for any audience, and apply the storage path hierarchy.
provider.Grant.prototype.getResourceScopeFiltered = function getResourceScopeFiltered(resource, filter) {
  const granted = new Set(this.getOIDCScope().split(' ').filter(Boolean));
  for (const rs of Object.keys(this.resources ?? {})) {
    for (const s of this.getResourceScope(rs).split(' ')) if (s) granted.add(s);
  }
  return [...filter].filter((s) => granted.has(s) || coveredBy(granted, s)).join(' ');
};

// ---------------------------------------------------------------------------------------------
// RFC 8693 token exchange, INDIGO-IAM-style "offline delegation": a client trades a user's access
// token for a refresh token on a NEW grant, narrowed to the requested WLCG scopes and bound to the
// requested audiences. Only that shape exists here (access token in, refresh token out).
const TT_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const TT_REFRESH = 'urn:ietf:params:oauth:token-type:refresh_token';
// How a delegated refresh token is recognised, using only fields oidc-provider itself persists
// and copies on rotation: `gty` (rotation appends " refresh_token", so look at the first word)
// and `resource` (the delegated audiences, which resolveResource checks requests against).
const DELEGATED_GTY = 'token_exchange';
function isDelegated(token) { return typeof token?.gty === 'string' && token.gty.split(' ')[0] === DELEGATED_GTY; }

// Seconds left for a delegated refresh token being saved. The exchange sets `exp` explicitly;
// this is for rotation, where oidc-provider builds a new token without `exp`. The delegated
// grant was created with the same `exp` and never changes, and the refresh grant has it at hand.
function delegatedTtlLeft(ctx, token) {
  const grant = ctx?.oidc?.entities?.Grant;
  const exp = grant?.jti === token.grantId && grant.exp ? grant.exp : token.iiat + state.delegationTtl;
  return Math.max(1, exp - epoch());
}

// The subject token must be one of our JWT access tokens (they are not stored, so check the
// signature) issued to the client asking for the exchange. ID tokens are signed with the same
// key, hence the `typ` check. Descriptions never contain the token.
function verifySubjectToken(value, clientId) {
  const bad = (why) => new errors.CustomOIDCProviderError('invalid_grant', `subject token ${why}`);
  const parts = String(value).split('.');
  let header;
  let claims;
  try {
    if (parts.length !== 3) throw new Error();
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  } catch {
    throw bad('invalid (not a JWT)');
  }
  if (header?.alg !== 'RS256' || header.typ !== 'at+jwt') throw bad('invalid (not an access token of this issuer)');
  if (!crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, Buffer.from(parts[2], 'base64url'))) {
    throw bad('invalid (bad signature)');
  }
  if (claims?.iss !== issuer || typeof claims.sub !== 'string' || !claims.sub) throw bad('invalid (wrong issuer or no subject)');
  if (typeof claims.exp !== 'number' || claims.exp <= epoch()) throw bad('expired');
  if (claims.client_id !== clientId) throw bad('was issued to another client');
  return claims;
}

// Narrowing by exchange: an access token of the grant is traded for one with fewer scopes or an
// audience, leaving the grant (and its refresh token) untouched. Signed like the provider's own
// JWT access tokens.
function narrowByExchange(ctx) {
  const { params, client } = ctx.oidc;
  const subject = verifySubjectToken(params.subject_token, client.clientId);
  const held = new Set(String(subject.scope ?? '').split(' ').filter(Boolean));
  const requested = [...new Set(String(params.scope ?? '').split(' ').filter(Boolean))];
  for (const s of requested) {
    if (!coveredBy(held, s)) throw new errors.InvalidScope(`scope ${s} is not covered by the subject token`, s);
  }
  const scope = (requested.length ? requested : [...held]).join(' ');
  const auds = [...new Set([].concat(params.resource ?? [], params.audience ?? [])
    .flatMap((a) => String(a).split(' ')).filter(Boolean))];
  for (const a of auds) {
    if (URL.parse(a)?.protocol !== 'https:') throw new errors.InvalidTarget(`audience ${a} is not an https URI`);
  }
  const now = epoch();
  const claims = {
    iss: issuer,
    sub: subject.sub,
    aud: auds.length === 0 ? WLCG_ANY : (auds.length === 1 ? auds[0] : auds),
    scope,
    client_id: client.clientId,
    iat: now,
    exp: now + state.atTtl,
    jti: crypto.randomBytes(16).toString('base64url'),
    'wlcg.ver': '1.0',
  };
  const header = { alg: 'RS256', typ: 'at+jwt', kid: signingKey.kid };
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url');
  stats.narrowed_by_exchange = (stats.narrowed_by_exchange ?? 0) + 1;
  log('narrowed by exchange', JSON.stringify({ client_id: client.clientId, sub: subject.sub, scope, audiences: auds }));
  ctx.body = {
    access_token: `${input}.${signature}`,
    issued_token_type: TT_ACCESS,
    token_type: 'Bearer',
    expires_in: state.atTtl,
    scope,
  };
}

async function tokenExchange(ctx) {
  const { params, client } = ctx.oidc;
  const need = (name) => {
    if (!params[name]) throw new errors.InvalidRequest(`missing required parameter '${name}'`);
    return params[name];
  };
  need('subject_token');
  if (need('subject_token_type') !== TT_ACCESS) {
    throw new errors.InvalidRequest(`subject_token_type must be ${TT_ACCESS}`);
  }
  const requestedType = need('requested_token_type');
  if (requestedType === TT_ACCESS) return narrowByExchange(ctx);
  if (requestedType !== TT_REFRESH) {
    throw new errors.InvalidRequest(`requested_token_type must be ${TT_REFRESH} or ${TT_ACCESS}`);
  }
  // The delegated refresh token would be useless to a client that may not refresh.
  if (!client.grantTypeAllowed('refresh_token')) {
    throw new errors.UnauthorizedClient('client is not allowed the refresh_token grant');
  }
  const subject = verifySubjectToken(params.subject_token, client.clientId);

  // Delegation can only narrow: every WLCG scope must be covered by the subject token.
  const requested = [...new Set(String(params.scope ?? '').split(' ').filter(Boolean))];
  if (!requested.includes('offline_access')) {
    throw new errors.InvalidScope('offline_access is required for delegation', 'offline_access');
  }
  const held = new Set(String(subject.scope ?? '').split(' ').filter(Boolean));
  for (const s of requested) {
    if (s === 'openid' || s === 'offline_access') continue;
    if (!isWlcg(s)) throw new errors.InvalidScope(`scope ${s} cannot be delegated`, s);
    if (!coveredBy(held, s)) throw new errors.InvalidScope(`scope ${s} is not covered by the subject token`, s);
  }

  // tokenFront already turned `audience` (space-separated, repeatable) into `resource`.
  const auds = [...new Set([].concat(params.resource ?? [], params.audience ?? [])
    .flatMap((a) => String(a).split(' ')).filter(Boolean))];
  for (const a of auds) {
    if (URL.parse(a)?.protocol !== 'https:') throw new errors.InvalidTarget(`audience ${a} is not an https URI`);
  }
  // No audience: the WLCG default, i.e. access tokens for "any" resource server and only that.
  if (!auds.length) auds.push(WLCG_ANY);

  // A grant of its own, so revoking either side leaves the other alone. The patched
  // getResourceScopeFiltered grants what its OIDC scope holds, WLCG scopes included.
  const ttl = state.delegationTtl;
  const exp = epoch() + ttl;
  const grant = new provider.Grant({ accountId: subject.sub, clientId: client.clientId, exp });
  grant.addOIDCScope([...new Set(['openid', 'offline_access', ...requested])].join(' '));
  const grantId = await grant.save();
  ctx.oidc.entity('Grant', grant);

  const rt = new provider.RefreshToken({
    accountId: subject.sub,
    client,
    exp,
    grantId,
    gty: DELEGATED_GTY,
    resource: auds.length === 1 ? auds[0] : auds,
    rotations: 0,
    scope: requested.join(' '),
  });
  ctx.oidc.entity('RefreshToken', rt);
  const value = await rt.save();
  log('delegated', JSON.stringify({ client_id: client.clientId, sub: subject.sub, scope: rt.scope, audiences: auds, ttl }));

  // RFC 8693 response for a non-access token: the issued token is `access_token`, token_type N_A.
  ctx.body = {
    access_token: value,
    issued_token_type: TT_REFRESH,
    token_type: 'N_A',
    expires_in: ttl,
    refresh_token: value,
    refresh_token_expires_in: ttl,
    scope: rt.scope,
  };
}

if (TOKEN_EXCHANGE) {
  provider.registerGrantType(
    EXCHANGE_GRANT,
    tokenExchange,
    ['subject_token', 'subject_token_type', 'requested_token_type', 'scope', 'audience', 'resource'],
    ['audience', 'resource'],
  );
}

provider.on('server_error', (ctx, err) => log('server_error', err));
provider.on('grant.error', (ctx, err) => log('grant.error', err.error || err.name, err.error_description || err.message));
provider.on('registration_create.error', (ctx, err) => log('registration error', err.error_description || err.message));

// ---------------------------------------------------------------------------------------------
async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}
async function readForm(ctx) { return querystring.parse(await readBody(ctx.req)); }
async function readJson(ctx) {
  const raw = await readBody(ctx.req);
  return raw ? JSON.parse(raw) : {};
}
const first = (v) => (Array.isArray(v) ? v[0] : v);
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// /test/* admin endpoints.
async function testEndpoints(ctx) {
  const route = `${ctx.method} ${ctx.path}`;
  switch (route) {
    case 'GET /test/stats':
      ctx.body = stats;
      return;
    case 'POST /test/fault': {
      const b = await readJson(ctx);
      if (!['none', '500', '404', 'garbage', 'hang', 'slow', 'close', 'error', 'huge'].includes(String(b.mode))) ctx.throw(400, 'bad mode');
      // `error`: answer with `body` and `status` (a hostile or odd error); `huge`: stream
      // `bytes` of JSON-ish filler, to see that tok stops reading.
      state.fault = {
        mode: String(b.mode),
        delay_ms: Number(b.delay_ms ?? state.fault.delay_ms),
        once: b.once === true, grant: b.grant === undefined ? undefined : String(b.grant),
        body: b.body,
        status: Number(b.status ?? 400),
        bytes: Number(b.bytes ?? 400 * 1024 * 1024),
      };
      log('fault mode', state.fault);
      ctx.body = state.fault;
      return;
    }
    case 'POST /test/config': {
      const b = await readJson(ctx);
      if (typeof b.rotate === 'boolean') state.rotate = b.rotate;
      if (Number.isFinite(b.at_ttl)) state.atTtl = b.at_ttl;
      if (b.delegation_ttl !== undefined) {
        if (!isPositiveInt(b.delegation_ttl)) ctx.throw(400, 'delegation_ttl must be a positive integer');
        // Applies to later exchanges; issued delegated refresh tokens keep their expiry.
        state.delegationTtl = b.delegation_ttl;
      }
      if (typeof b.registration_error === 'boolean') state.registrationError = b.registration_error;
      if (typeof b.revocation_refuse_public === 'boolean') state.revocationRefusePublic = b.revocation_refuse_public;
      if (typeof b.ignore_refresh_scope === 'boolean') state.ignoreRefreshScope = b.ignore_refresh_scope;
      if (typeof b.registration_refuse_code === 'boolean') state.registrationRefuseCode = b.registration_refuse_code;
      if (b.discovery_override !== undefined) state.discoveryOverride = b.discovery_override;
      if (b.device_override !== undefined) state.deviceOverride = b.device_override;
      if (b.login_end !== undefined) state.loginEnd = b.login_end;
      const current = {
        rotate: state.rotate,
        at_ttl: state.atTtl,
        delegation_ttl: state.delegationTtl,
        registration_error: state.registrationError,
        revocation_refuse_public: state.revocationRefusePublic,
        ignore_refresh_scope: state.ignoreRefreshScope,
      };
      log('config', current);
      ctx.body = current;
      return;
    }
    case 'GET /test/refresh_tokens': {
      const out = [];
      for (const [k, entry] of store) {
        const p = entry.payload;
        if (k.startsWith('RefreshToken:') && MapAdapter.live(entry) && !p.consumed && !(p.exp && p.exp <= epoch())) {
          const row = {
            client_id: p.clientId,
            account_id: p.accountId,
            scope: p.scope,
            grant_id: p.grantId,
            delegated: isDelegated(p),
            expires_at: p.exp,
          };
          // Opaque refresh tokens are their own id; exposed only on request, for leak tests.
          if (ctx.query.values === '1') row.value = k.slice('RefreshToken:'.length);
          out.push(row);
        }
      }
      ctx.body = out;
      return;
    }
    case 'POST /test/forget': {
      let n = 0;
      for (const k of store.keys()) {
        if (/^(Grant|RefreshToken|AccessToken|Session):/.test(k)) { store.delete(k); n += 1; }
      }
      log('forgot', n, 'entries');
      ctx.body = { forgotten: n };
      return;
    }
    case 'POST /test/slow_down': {
      const b = await readJson(ctx);
      state.slowDown = Number(b.times ?? 1);
      ctx.body = { times: state.slowDown };
      return;
    }
    default:
      ctx.status = 404;
      ctx.body = { error: 'not_found' };
  }
}

// Token endpoint front: statistics, fault injection, slow_down, `audience` -> `resource`.
// The body is read here and handed on as a string (oidc-provider then parses request.body).
async function tokenFront(ctx, next) {
  const form = await readForm(ctx);
  const grantType = first(form.grant_type);
  stats.token_requests += 1;
  stats.by_grant[grantType] = (stats.by_grant[grantType] ?? 0) + 1;
  if (form.resource !== undefined) stats.audience_params.resource += 1;
  if (form.audience !== undefined) stats.audience_params.audience += 1;
  stats.last_token_request = {
    grant_type: grantType ?? null,
    scope: form.scope ?? null,
    resource: form.resource ?? null,
    audience: form.audience ?? null,
    // Token exchange: the types only, never subject_token itself.
    requested_token_type: form.requested_token_type ?? null,
    subject_token_type: form.subject_token_type ?? null,
  };
  log('token request', JSON.stringify(stats.last_token_request), 'fault', state.fault.mode);

  const faultState = state.fault;
  const fault = faultState.grant && faultState.grant !== grantType ? 'none' : faultState.mode; // `grant`: only that grant_type
  if (state.fault.once) state.fault = { mode: 'none', delay_ms: state.fault.delay_ms };
  switch (fault) {
    case 'error':
      ctx.status = faultState.status;
      ctx.body = faultState.body;
      return;
    case 'huge': {
      const { Readable } = await import('node:stream');
      let left = faultState.bytes;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = Readable.from((function* gen() {
        yield Buffer.from('{"access_token":"');
        while (left > 0) { left -= chunk.length; yield chunk; }
        yield Buffer.from('"}');
      })());
      return;
    }
    case '404':
      ctx.status = 404;
      ctx.body = '';
      return;
    case '500':
      ctx.status = 500;
      ctx.body = { error: 'server_error' };
      return;
    case 'garbage':
      ctx.status = 200;
      ctx.type = 'text/html';
      ctx.body = '<html>not json';
      return;
    case 'hang':
      ctx.respond = false; // leave the socket open, never answer
      return;
    case 'close':
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    case 'slow':
      await sleep(state.fault.delay_ms);
      break;
    default:
  }

  if (grantType === DEVICE_GRANT && state.slowDown > 0) {
    state.slowDown -= 1;
    ctx.status = 400;
    ctx.body = { error: 'slow_down', error_description: 'injected by /test/slow_down' };
    return;
  }

  if (grantType === 'refresh_token' && state.ignoreRefreshScope) delete form.scope;

  // Legacy IAM/Keycloak `audience` parameter: same meaning as RFC 8707 `resource` here.
  if (form.audience !== undefined) {
    if (form.resource === undefined) {
      const auds = [].concat(form.audience).flatMap((a) => a.split(' ')).filter(Boolean);
      form.resource = auds.length === 1 ? auds[0] : auds;
    }
    delete form.audience;
  }
  unwrapRefreshToken(form);
  ctx.request.body = querystring.stringify(form);

  const scopes = new Set(first(form.scope)?.split(' ').filter(Boolean) ?? []);
  await als.run({ scopes, resource: form.resource }, next);
  sayLoginEnd(ctx);
  log('token response', ctx.status, ctx.status >= 400 ? JSON.stringify(ctx.body) : '');
}

// ---------------------------------------------------------------------------------------------
// When a login ends (issue 20), as other providers say it; off unless POST /test/config sets
// `login_end`: {"refresh_expires_in": SECS} adds Keycloak's field to every token answer;
// {"jwt_refresh_exp": SECS} hands out refresh tokens shaped as JWTs whose payload has that
// `exp` (unsigned: the opaque token rides in the third part and is unwrapped on the way in).
const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function sayLoginEnd(ctx) {
  const le = state.loginEnd;
  if (!le || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
  const body = { ...ctx.body };
  if (Number.isInteger(le.refresh_expires_in)) body.refresh_expires_in = le.refresh_expires_in;
  if (Number.isInteger(le.jwt_refresh_exp) && typeof body.refresh_token === 'string') {
    const exp = epoch() + le.jwt_refresh_exp;
    body.refresh_token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ exp, typ: 'Refresh' })}.${body.refresh_token}`;
  }
  ctx.body = body;
}
function unwrapRefreshToken(form) {
  const parts = typeof form.refresh_token === 'string' ? form.refresh_token.split('.') : [];
  if (parts.length === 3) [, , form.refresh_token] = parts;
}

// Login / consent interaction pages.
async function interactionPages(ctx) {
  const m = /^\/interaction\/([^/]+)(\/(login|confirm|abort))?$/.exec(ctx.path);
  if (!m) { ctx.status = 404; return; }
  const action = m[3];
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { uid, prompt, params } = details;

  if (ctx.method === 'GET' && !action) {
    if (prompt.name === 'login') {
      ctx.body = page('Sign in', `<form id="login" method="post" action="/interaction/${uid}/login">
<input name="login" placeholder="username" autofocus> <input name="password" type="password" placeholder="password (pw)">
<button type="submit">Sign in</button></form>`);
    } else {
      const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
      ctx.body = page('Authorize', `<p>Client <b>${esc(params.client_id)}</b> requests:</p><ul>${scopes.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>
<form id="approve" method="post" action="/interaction/${uid}/confirm"><button type="submit">Approve</button></form>
<form id="deny" method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`);
    }
    return;
  }
  if (ctx.method !== 'POST') { ctx.status = 405; return; }

  let result;
  let merge = false;
  if (action === 'login') {
    const form = await readForm(ctx);
    const login = String(first(form.login) ?? '').trim();
    if (!login || first(form.password) !== 'pw') {
      ctx.status = 401;
      ctx.body = page('Sign in', `<p id="error">Invalid username or password.</p><a href="/interaction/${uid}">Try again</a>`);
      return;
    }
    result = { login: { accountId: login } };
  } else if (action === 'confirm') {
    await readBody(ctx.req);
    const { session: { accountId }, grantId } = details;
    const d = prompt.details;
    const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId, clientId: params.client_id });
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, s] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, s.join(' '));
    result = { consent: { grantId: await grant.save() } };
    merge = true;
  } else {
    await readBody(ctx.req);
    result = { error: 'access_denied', error_description: 'End-User denied the authorization' };
  }
  log('interaction', uid, action);
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/test/')) return testEndpoints(ctx);
  if (ctx.path.startsWith('/interaction/')) return interactionPages(ctx);
  if (ctx.method === 'POST' && ctx.path === '/token') return tokenFront(ctx, next);

  if (ctx.method === 'POST' && ctx.path === '/reg') {
    stats.registrations += 1;
    if (state.registrationError) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_client_metadata', error_description: 'registration is closed (injected by /test/config)' };
      return;
    }
    if (state.registrationRefuseCode) {
      const raw = await readBody(ctx.req);
      if ((JSON.parse(raw || '{}').grant_types ?? []).includes('authorization_code')) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_client_metadata', error_description: 'authorization_code is not offered to registered clients (injected by /test/config)' };
        return;
      }
      ctx.request.body = raw;
    }
  }
  if (ctx.method === 'POST' && ctx.path === '/token/revocation') {
    stats.revocations += 1;
    // A public client authenticates with no secret: no Authorization header, no client_secret.
    if (state.revocationRefusePublic && !ctx.get('authorization')) {
      const form = await readForm(ctx);
      if (form.client_secret === undefined) {
        ctx.status = 401;
        ctx.body = '';
        return;
      }
      ctx.request.body = querystring.stringify(form);
    }
  }
  const isDeviceAuth = ctx.method === 'POST' && ctx.path === '/device/auth';
  if (isDeviceAuth) stats.device_authorizations += 1;

  await next();

  // Discovery documents as another (or a hostile) provider would serve them: keys set to null
  // are removed, others replaced (POST /test/config {"discovery_override": {...}}).
  if (ctx.path.startsWith('/.well-known/') && ctx.status === 200 && state.discoveryOverride) {
    const doc = { ...ctx.body };
    for (const [k, v] of Object.entries(state.discoveryOverride)) {
      if (v === null) delete doc[k]; else doc[k] = v;
    }
    ctx.body = doc;
  }

  // oidc-provider does not send `interval`; RFC 8628 would then default to 5 s.
  if (isDeviceAuth && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    ctx.body = { ...ctx.body, interval: DEVICE_INTERVAL, ...(state.deviceOverride ?? {}) };
  }
  if (ctx.status >= 400 && !ctx.path.startsWith('/device')) log(ctx.method, ctx.path, ctx.status, JSON.stringify(ctx.body));
});

server.on('request', provider.callback());

process.on('SIGTERM', () => {
  log('SIGTERM: shutting down');
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
});
process.on('SIGINT', () => process.exit(0));

process.stdout.write(`${JSON.stringify({ ready: true, port, issuer })}\n`);
log('ready', issuer, {
  rotate: state.rotate,
  at_ttl: state.atTtl,
  device_ttl: DEVICE_TTL,
  device_interval: DEVICE_INTERVAL,
  token_exchange: TOKEN_EXCHANGE,
  delegation_ttl: state.delegationTtl,
});
