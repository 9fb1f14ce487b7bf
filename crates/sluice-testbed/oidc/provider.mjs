// A throwaway OpenID provider for sluice's tests, built on the real `oidc-provider` package.
//
// Usage: node provider.mjs CONFIG.json  (the Rust side, sluice_testbed::oidc, writes the file and starts this).
// The config names the port, the users (name, password, groups), the clients and the token lifetimes. Besides the
// standard OpenID endpoints the script serves:
//   - a minimal login + consent UI under /interaction/:uid that checks the user's password, so the authorization
//     code flow can be driven headlessly by an HTTP client;
//   - admin endpoints (header `x-admin-token` required): POST /admin/rotate-keys adds a new signing key (new `kid`,
//     first in the JWKS, so new tokens use it; older keys stay published), POST /admin/groups sets a user's or a
//     service client's groups ({"user": NAME, "groups": [...]} or {"client": ID, "groups": [...]}).
// With `tls` in the config ({"cert": PEM path, "key": PEM path}) it serves https and its issuer is
// https://127.0.0.1:PORT (for tests of providers behind a private CA). It prints "sluice-oidc listening on PORT" once
// it accepts connections.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `${config.tls ? 'https' : 'http'}://127.0.0.1:${config.port}`;
const users = new Map(config.users.map((user) => [user.name, user]));
const serviceGroups = new Map(
  config.clients.filter((client) => client.kind === 'service').map((client) => [client.client_id, client.groups]),
);
let keys = [newSigningKey()];
let provider = build();

function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `key-${randomBytes(6).toString('hex')}`, use: 'sig', alg: 'RS256' };
}

// The claims a user carries: flat `groups`, a nested `realm_access.roles` (Keycloak's shape) and a
// separator-joined string, so that every groups-claim style sluice supports can be tested.
function groupClaims(groups) {
  return { groups, realm_access: { roles: groups }, groups_csv: groups.join(',') };
}

function clientMetadata(client) {
  switch (client.kind) {
    case 'native':
      return {
        client_id: client.client_id,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: client.redirect_uris,
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
      };
    case 'web':
      return {
        client_id: client.client_id,
        client_secret: client.client_secret,
        redirect_uris: client.redirect_uris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      };
    default:
      return {
        client_id: client.client_id,
        client_secret: client.client_secret,
        redirect_uris: [],
        grant_types: ['client_credentials'],
        response_types: [],
      };
  }
}

function build() {
  const ttl = config.ttl;
  const next = new Provider(issuer, {
    clients: config.clients.map(clientMetadata),
    jwks: { keys },
    cookies: { keys: [config.cookie_key] },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
      groups: ['groups', 'realm_access', 'groups_csv'],
    },
    // Put the requested claims into the ID token itself, as most providers do when configured for groups.
    conformIdTokenClaims: false,
    async findAccount(ctx, id) {
      const user = users.get(id);
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            preferred_username: id,
            name: id,
            email: `${id}@example.test`,
            email_verified: true,
            ...groupClaims(user.groups),
          };
        },
      };
    },
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        return { ...groupClaims(serviceGroups.get(token.clientId) ?? []) };
      }
      const user = token.accountId && users.get(token.accountId);
      return user ? { preferred_username: user.name, ...groupClaims(user.groups) } : undefined;
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => config.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator) => {
          if (resourceIndicator !== config.resource) {
            throw new Provider.errors.InvalidTarget();
          }
          return {
            scope: 'api',
            audience: config.resource,
            accessTokenTTL: ttl.access_token,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    scopes: ['openid', 'profile', 'email', 'groups', 'offline_access', 'api'],
    pkce: { required: () => true },
    ttl: {
      AccessToken: ttl.access_token,
      ClientCredentials: ttl.access_token,
      IdToken: ttl.id_token,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
      RefreshToken: 3600,
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  next.on('server_error', (ctx, err) => console.error('server_error', err));
  return next;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 65536) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

// GET /interaction/:uid shows the login form or the consent form; the POSTs complete them.
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch');
  if (req.method === 'GET') {
    const isLogin = details.prompt.name === 'login';
    const form = isLogin
      ? `<form method="post" action="/interaction/${uid}/login"><input name="login"><input name="password" type="password"><button>Sign in</button></form>`
      : `<form method="post" action="/interaction/${uid}/confirm"><button>Allow ${escapeHtml(details.params.client_id)}</button></form>`;
    return send(res, 200, 'text/html', `<!doctype html><title>${details.prompt.name}</title>${form}`);
  }
  if (action === 'login') {
    const form = await readForm(req);
    const user = users.get(form.get('login') ?? '');
    const given = Buffer.from(form.get('password') ?? '');
    const expected = Buffer.from(user?.password ?? '');
    if (!user || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return send(res, 401, 'text/plain', 'invalid credentials');
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.name } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    const { prompt: { details: missing }, params, session: { accountId } } = details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    const consent = details.grantId ? {} : { grantId };
    return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  }
  return send(res, 404, 'text/plain', 'unknown interaction action');
}

async function admin(req, res, path) {
  const token = Buffer.from(req.headers['x-admin-token'] ?? '');
  const expected = Buffer.from(config.admin_token);
  if (token.length !== expected.length || !timingSafeEqual(token, expected)) {
    return send(res, 403, 'text/plain', 'forbidden');
  }
  if (req.method === 'POST' && path === '/admin/rotate-keys') {
    const key = newSigningKey();
    keys = [key, ...keys];
    provider = build();
    return send(res, 200, 'application/json', JSON.stringify({ kid: key.kid }));
  }
  if (req.method === 'POST' && path === '/admin/groups') {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (body.user !== undefined) {
      const user = users.get(body.user);
      if (!user) return send(res, 404, 'text/plain', 'no such user');
      user.groups = body.groups;
    } else if (serviceGroups.has(body.client)) {
      serviceGroups.set(body.client, body.groups);
    } else {
      return send(res, 404, 'text/plain', 'no such client');
    }
    return send(res, 204, 'text/plain', '');
  }
  return send(res, 404, 'text/plain', 'unknown admin endpoint');
}

async function handle(req, res) {
  try {
    const path = new URL(req.url, issuer).pathname;
    const match = path.match(/^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm))?$/);
    if (match) return await interaction(req, res, match[1], match[2]);
    if (path.startsWith('/admin/')) return await admin(req, res, path);
    return provider.callback()(req, res);
  } catch (err) {
    console.error('request failed', err);
    if (!res.headersSent) send(res, 500, 'text/plain', String(err.message ?? err));
    else res.end();
  }
}

const server = config.tls
  ? createTlsServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, handle)
  : createServer(handle);
server.listen(config.port, '127.0.0.1', () => console.log(`sluice-oidc listening on ${config.port}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
