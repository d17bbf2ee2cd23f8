// A real OpenID provider for the test suite: panva's oidc-provider on 127.0.0.1, configured from a JSON file.
//
//   node provider.mjs --config /path/to/config.json [--port 54321]   (--config may also be the JSON itself)
//   OIDC_PROVIDER_CONFIG=/path/to/config.json OIDC_PROVIDER_PORT=54321 node provider.mjs
//
// The configuration (every key optional but `port`; tests/oidc_provider/ writes it):
//   {
//     "port": 54321,                      // oidc-provider cannot listen on port 0: the caller picks a free one
//     "host": "127.0.0.1",
//     "issuer": "http://127.0.0.1:54321", // default: http://<host>:<port>
//     "jwks": {"keys": [<private RSA JWK>]}, // default: one RS256 key generated at start
//     "cookie_keys": ["..."],             // default: random
//     "resources": [                      // resource servers: client-credentials tokens for them are RS256 JWTs
//       {"identifier": "urn:ai-service-api", "audience": "ai-service-api",
//        "scopes": ["ai.agent_read", "ai.agent_manage"], "access_token_ttl": 600}
//     ],
//     "default_resource": "urn:ai-service-api", // used by client_credentials without `resource`
//     "clients": [<oidc-provider client metadata>, ...], // plus `tenant` and `extra_token_claims` for machines
//     "accounts": [{"sub": "alice", "login": "alice", "password": "...", "claims": {"email": "...", ...}}],
//     "scope_claims": {"email": ["email", "email_verified"], ...}, // default: derived from the accounts' claims
//     "auto_consent": true,               // false: a consent page with Allow / Deny buttons
//     "parent_pid": 1234,                 // exit when that process is gone
//     "loopback_any_port": true,          // http://127.0.0.1/x or http://localhost/x redirect URIs match any port
//     "ttl": {"AccessToken": 3600, ...}
//   }
//
// Prints exactly one line to stdout, `READY <issuer>`, once it listens; everything else goes to stderr.

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const log = (...args) => console.error('[oidc-provider]', ...args);

// ---------------------------------------------------------------------------------------------- configuration
const { values: argv } = parseArgs({
  options: { config: { type: 'string' }, port: { type: 'string' } },
  strict: true,
});
const configSource = argv.config ?? process.env.OIDC_PROVIDER_CONFIG;
let config = {};
if (configSource) {
  config = JSON.parse(configSource.trimStart().startsWith('{') ? configSource : readFileSync(configSource, 'utf8'));
}
const port = Number(argv.port ?? process.env.OIDC_PROVIDER_PORT ?? config.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  log('a port is required (--port, OIDC_PROVIDER_PORT or "port" in the configuration); 0 is not supported');
  process.exit(2);
}
const host = config.host ?? '127.0.0.1';
const issuer = config.issuer ?? `http://${host}:${port}`;

const resources = new Map((config.resources ?? []).map((resource) => [resource.identifier, resource]));
const defaultResourceId = config.default_resource ?? (resources.size === 1 ? [...resources.keys()][0] : undefined);
const accounts = new Map((config.accounts ?? []).map((account) => [account.sub, account]));
const accountsByLogin = new Map((config.accounts ?? []).map((account) => [account.login ?? account.sub, account]));
const autoConsent = config.auto_consent ?? true;

function generateSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}

// Which claims each scope releases. Standard OIDC scopes keep their usual claims; any other claim an account
// has (tenants, roles, groups, ... whatever the tests chose) is released with `openid` itself, so the console
// receives it with the plain `openid email profile` request.
function scopeClaims() {
  if (config.scope_claims) return { ...config.scope_claims, openid: ['sub', ...(config.scope_claims.openid ?? [])] };
  const standard = {
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'nickname', 'locale', 'zoneinfo'],
  };
  const known = new Set(Object.values(standard).flat());
  const custom = new Set();
  for (const account of accounts.values()) {
    for (const claim of Object.keys(account.claims ?? {})) if (!known.has(claim)) custom.add(claim);
  }
  return { openid: ['sub', ...custom], ...standard };
}

// The stock pages import a web font from the internet; these pages load nothing from anywhere.
const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}label,input,button{display:block;box-sizing:border-box;width:100%;margin:.4rem 0}input{padding:.4rem}button{padding:.5rem;cursor:pointer}.error{color:#b00020}</style>
</head><body><h1>${htmlEscape(title)}</h1>${body}</body></html>`;

function htmlEscape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const ttl = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
  IdToken: 3600,
  Interaction: 600,
  Session: 3600,
  Grant: 3600,
  RefreshToken: 3600,
  ...config.ttl,
};

const configuration = {
  clients: config.clients ?? [],
  jwks: config.jwks ?? { keys: [generateSigningKey()] },
  cookies: { keys: config.cookie_keys ?? [crypto.randomBytes(32).toString('hex')] },
  claims: scopeClaims(),
  scopes: ['openid', 'offline_access', ...[...resources.values()].flatMap((resource) => resource.scopes ?? [])],
  // The claims go into the ID token as well as to the userinfo endpoint, whatever the response type.
  conformIdTokenClaims: false,
  extraClientMetadata: { properties: ['tenant', 'extra_token_claims'] },
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  pkce: { required: () => true },
  ttl,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // With an id_token_hint (what a relying party sends) the sign-out goes through at once; without one the
      // page asks, as most providers do.
      async logoutSource(ctx, form) {
        const auto = ctx.oidc.params.id_token_hint
          ? `<script>document.getElementById('op.logoutForm').insertAdjacentHTML('beforeend','<input type="hidden" name="logout" value="yes">');document.getElementById('op.logoutForm').submit();</script>`
          : '';
        ctx.type = 'html';
        ctx.body = page('Sign out', `${form}
<button autofocus type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>${auto}`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.type = 'html';
        ctx.body = page('Signed out', '<p>You are signed out.</p>');
      },
    },
    resourceIndicators: {
      enabled: true,
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        if (ctx.oidc.params?.grant_type === 'client_credentials') return defaultResourceId;
        return undefined;
      },
      async useGrantedResource() {
        return false;
      },
      async getResourceServerInfo(ctx, identifier) {
        const resource = resources.get(identifier);
        if (!resource) throw new errors.InvalidTarget(`unknown resource ${identifier}`);
        return {
          scope: (resource.scopes ?? []).join(' '),
          audience: resource.audience ?? identifier,
          accessTokenTTL: resource.access_token_ttl ?? 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // Machine clients carry their tenant (and any other claims the tests want) into their access tokens.
  async extraTokenClaims(ctx, token) {
    const client = await provider.Client.find(token.clientId);
    if (!client) return undefined;
    const claims = { ...(client.extra_token_claims ?? {}) };
    if (client.tenant !== undefined) claims.tenant = client.tenant;
    return Object.keys(claims).length ? claims : undefined;
  },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { ...(account.claims ?? {}), sub };
      },
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page(
      'Something went wrong',
      Object.entries(out)
        .map(([key, value]) => `<p class="error"><strong>${htmlEscape(key)}</strong>: ${htmlEscape(value)}</p>`)
        .join(''),
    );
  },
};

const provider = new Provider(issuer, configuration);

// The console under test listens on a port chosen at run time (pytest-django's live server), so by default a
// registered http://127.0.0.1/... or http://localhost/... redirect URI matches the same URI on any port — what
// RFC 8252 (7.3) asks of native clients, extended here to every client. Set "loopback_any_port": false to match
// exactly.
if (config.loopback_any_port ?? true) {
  const loopbacks = new Set(['127.0.0.1', 'localhost', '[::1]']);
  const withoutPort = (uri) => {
    const url = URL.parse(uri);
    if (!url || url.protocol !== 'http:' || !loopbacks.has(url.hostname) || url.username || url.password) return undefined;
    return `http://${url.hostname}${url.pathname}${url.search}${url.hash}`;
  };
  const anyPort = (value, allowed) => {
    const stripped = withoutPort(value);
    return stripped !== undefined && (allowed ?? []).some((uri) => withoutPort(uri) === stripped);
  };
  const { redirectUriAllowed, postLogoutRedirectUriAllowed } = provider.Client.prototype;
  provider.Client.prototype.redirectUriAllowed = function allowed(value) {
    return redirectUriAllowed.call(this, value) || anyPort(value, this.redirectUris);
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function allowed(value) {
    return postLogoutRedirectUriAllowed.call(this, value) || anyPort(value, this.postLogoutRedirectUris);
  };
}
for (const event of ['server_error', 'grant.error', 'authorization.error', 'end_session.error', 'userinfo.error']) {
  provider.on(event, (ctx, error) => log(event, error?.name, error?.message, error?.error_description ?? ''));
}

// ---------------------------------------------------------------------------------------------- interactions
function loginForm(uid, { login = '', error = '', clientName = '' } = {}) {
  return page(
    'Sign in',
    `${clientName ? `<p>to continue to <strong>${htmlEscape(clientName)}</strong></p>` : ''}
${error ? `<p class="error" role="alert">${htmlEscape(error)}</p>` : ''}
<form method="post" action="/interaction/${htmlEscape(uid)}/login" autocomplete="off">
<label for="login">Login</label><input id="login" name="login" value="${htmlEscape(login)}" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${htmlEscape(uid)}/abort">Cancel</a></p>`,
  );
}

function consentForm(uid, clientName, scopes) {
  return page(
    'Authorize',
    `<p><strong>${htmlEscape(clientName)}</strong> asks for: ${htmlEscape(scopes.join(' '))}</p>
<form method="post" action="/interaction/${htmlEscape(uid)}/confirm"><button type="submit">Allow</button></form>
<form method="post" action="/interaction/${htmlEscape(uid)}/abort"><button type="submit">Deny</button></form>`,
  );
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(html),
  });
  res.end(html);
}

async function grantConsent(details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return { consent: { grantId: await grant.save() } };
}

const timingSafeEqual = (a, b) => {
  const left = crypto.createHash('sha256').update(String(a)).digest();
  const right = crypto.createHash('sha256').update(String(b)).digest();
  return crypto.timingSafeEqual(left, right);
};

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Something went wrong', '<p>Interaction mismatch.</p>'));
  const client = await provider.Client.find(details.params.client_id);
  const clientName = client?.clientName ?? client?.clientId ?? '';
  const { name } = details.prompt;

  if (action === 'abort') {
    const result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (req.method === 'GET' && action === '') {
    if (name === 'login') return send(res, 200, loginForm(uid, { clientName }));
    if (name === 'consent') {
      if (autoConsent) return provider.interactionFinished(req, res, await grantConsent(details));
      return send(res, 200, consentForm(uid, clientName, String(details.params.scope ?? '').split(' ')));
    }
    return send(res, 501, page('Something went wrong', `<p>Prompt ${htmlEscape(name)} is not supported.</p>`));
  }
  if (req.method === 'POST' && action === 'login' && name === 'login') {
    const form = await readForm(req);
    const login = form.get('login') ?? '';
    const account = accountsByLogin.get(login);
    // The password is compared even for an unknown login, so that both fail alike.
    const passwordOk = timingSafeEqual(form.get('password') ?? '', account?.password ?? crypto.randomUUID());
    if (!account || !passwordOk) {
      log('login refused for', JSON.stringify(login));
      return send(res, 401, loginForm(uid, { login, clientName, error: 'Invalid login or password.' }));
    }
    const result = { login: { accountId: account.sub, amr: ['pwd'] } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (req.method === 'POST' && action === 'confirm' && name === 'consent') {
    return provider.interactionFinished(req, res, await grantConsent(details));
  }
  return send(res, 405, page('Something went wrong', '<p>This step is not expected now.</p>'));
}

// ---------------------------------------------------------------------------------------------- server
const providerCallback = provider.callback();
const interactionPath = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/;

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, issuer);
  const match = interactionPath.exec(pathname);
  if (!match) return providerCallback(req, res);
  interaction(req, res, match[1], match[2] ?? '').catch((error) => {
    log('interaction failed:', error?.name, error?.message);
    if (res.headersSent) return res.end();
    const status = error instanceof errors.SessionNotFound || error?.name === 'SessionNotFound' ? 400 : 500;
    return send(res, status, page('Something went wrong', `<p class="error">${htmlEscape(error?.message ?? error)}</p>`));
  });
});

server.on('error', (error) => {
  log('cannot listen:', error.message);
  process.exit(1);
});
server.listen(port, host, () => {
  process.stdout.write(`READY ${issuer}\n`);
});

// Never outlive the test run: with the parent gone (a killed pytest), the provider goes too.
if (config.parent_pid) {
  setInterval(() => {
    try {
      process.kill(config.parent_pid, 0);
    } catch {
      process.exit(0);
    }
  }, 1000).unref();
}

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
