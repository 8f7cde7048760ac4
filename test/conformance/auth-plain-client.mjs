#!/usr/bin/env node
/**
 * The baseline for test/conformance/run-auth.mjs: a plain v2 SDK client (@modelcontextprotocol/client
 * 2.4) doing the conformance suite's client `auth/*` scenarios by itself, with no aggregator. It is the
 * auth part of the SDK's own conformance client (typescript-sdk test/conformance/src/everythingClient.ts
 * with its helpers conformanceOAuthProvider.ts and withOAuthRetry.ts), ported to plain JavaScript.
 *
 *   node test/conformance/auth-plain-client.mjs <server-url>    (MCP_CONFORMANCE_SCENARIO / _CONTEXT set by the suite)
 */
import {
  auth,
  Client,
  ClientCredentialsProvider,
  computeScopeUnion,
  CrossAppAccessProvider,
  extractWWWAuthenticateParams,
  isStrictScopeSuperset,
  PrivateKeyJwtProvider,
  requestJwtAuthorizationGrant,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";

const CIMD_CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json";

class ConformanceOAuthProvider {
  constructor(redirectUrl, clientMetadata, clientMetadataUrl) {
    this._redirectUrl = redirectUrl;
    this._clientMetadata = clientMetadata;
    this._clientMetadataUrl = clientMetadataUrl;
  }
  get redirectUrl() {
    return this._redirectUrl;
  }
  get clientMetadata() {
    return this._clientMetadata;
  }
  get clientMetadataUrl() {
    return this._clientMetadataUrl?.toString();
  }
  clientInformation() {
    return this._clientInformation;
  }
  saveClientInformation(info) {
    this._clientInformation = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
  }
  saveDiscoveryState(state) {
    this._discoveryState = state;
  }
  discoveryState() {
    return this._discoveryState;
  }
  invalidateCredentials(scope) {
    if (scope === "all" || scope === "client") this._clientInformation = undefined;
    if (scope === "all" || scope === "tokens") this._tokens = undefined;
    if (scope === "all" || scope === "verifier") this._codeVerifier = undefined;
    if (scope === "all" || scope === "discovery") this._discoveryState = undefined;
  }
  async redirectToAuthorization(authorizationUrl) {
    const response = await fetch(authorizationUrl.toString(), { redirect: "manual" });
    const location = response.headers.get("location");
    if (!location) throw new Error(`No redirect location received, from '${authorizationUrl}'`);
    const redirect = new URL(location);
    const code = redirect.searchParams.get("code");
    this._iss = redirect.searchParams.get("iss") ?? undefined;
    if (!code) throw new Error("No auth code in redirect URL");
    this._authCode = code;
  }
  getAuthCode() {
    if (this._authCode) return this._authCode;
    throw new Error("No authorization code");
  }
  getIss() {
    return this._iss;
  }
  saveCodeVerifier(v) {
    this._codeVerifier = v;
  }
  codeVerifier() {
    if (!this._codeVerifier) throw new Error("No code verifier saved");
    return this._codeVerifier;
  }
}

async function handle401(response, provider, next, serverUrl) {
  const { resourceMetadataUrl, scope: challenged } = extractWWWAuthenticateParams(response);
  const previous = await provider.tokens();
  const scope = response.status === 403 ? computeScopeUnion(previous?.scope, challenged) : challenged;
  if (response.status === 401) provider.invalidateCredentials("discovery");
  let result = await auth(provider, {
    serverUrl,
    resourceMetadataUrl,
    scope,
    forceReauthorization: isStrictScopeSuperset(scope, previous?.scope),
    fetchFn: next,
  });
  if (result === "REDIRECT") {
    const iss = provider.getIss();
    result = await auth(provider, {
      serverUrl,
      resourceMetadataUrl,
      scope,
      authorizationCode: provider.getAuthCode(),
      iss,
      fetchFn: next,
    });
    if (result !== "AUTHORIZED") throw new UnauthorizedError(`Authentication failed with result: ${result}`);
  }
}

function withOAuthRetry(provider, baseUrl) {
  return (next) => async (input, init) => {
    const send = async () => {
      const headers = new Headers(init?.headers);
      const tokens = await provider.tokens();
      if (tokens) headers.set("Authorization", `Bearer ${tokens.access_token}`);
      return next(input, { ...init, headers });
    };
    let response = await send();
    if (response.status === 401 || response.status === 403) {
      await handle401(response, provider, next, baseUrl);
      response = await send();
    }
    if (response.status === 401 || response.status === 403)
      throw new UnauthorizedError(`Authentication failed for ${input}`);
    return response;
  };
}

function context() {
  return JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? "{}");
}

async function session(serverUrl, transportOptions, clientOptions = {}) {
  const client = new Client(
    { name: "test-auth-client", version: "1.0.0" },
    { capabilities: {}, ...clientOptions },
  );
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), transportOptions);
  await client.connect(transport);
  await client.listTools();
  await client.callTool({ name: "test-tool", arguments: {} });
  await transport.close();
}

async function main(serverUrl) {
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
  const ctx = context();
  if (scenario === "auth/client-credentials-basic") {
    const authProvider = new ClientCredentialsProvider({
      clientId: ctx.client_id,
      clientSecret: ctx.client_secret,
    });
    return session(serverUrl, { authProvider });
  }
  if (scenario === "auth/client-credentials-jwt") {
    const authProvider = new PrivateKeyJwtProvider({
      clientId: ctx.client_id,
      privateKey: ctx.private_key_pem,
      algorithm: ctx.signing_algorithm || "ES256",
    });
    return session(serverUrl, { authProvider });
  }
  if (ctx.idp_token_endpoint) {
    // Cross-app access (SEP-990): as the SDK's client, it lists the tools and stops there.
    const authProvider = new CrossAppAccessProvider({
      clientId: ctx.client_id,
      clientSecret: ctx.client_secret,
      assertion: async (a) =>
        (
          await requestJwtAuthorizationGrant({
            tokenEndpoint: ctx.idp_token_endpoint,
            audience: a.authorizationServerUrl,
            resource: a.resourceUrl,
            idToken: ctx.idp_id_token,
            clientId: ctx.idp_client_id,
            fetchFn: a.fetchFn,
          })
        ).jwtAuthGrant,
    });
    const client = new Client(
      { name: "conformance-cross-app-access", version: "1.0.0" },
      { capabilities: {} },
    );
    const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider });
    await client.connect(transport);
    await client.listTools();
    return transport.close();
  }
  const provider = new ConformanceOAuthProvider(
    "http://localhost:3000/callback",
    { client_name: "test-auth-client", redirect_uris: ["http://localhost:3000/callback"] },
    scenario === "auth/pre-registration" ? undefined : CIMD_CLIENT_METADATA_URL,
  );
  if (scenario === "auth/pre-registration") {
    provider.saveClientInformation({
      client_id: ctx.client_id,
      client_secret: ctx.client_secret,
      redirect_uris: ["http://localhost:3000/callback"],
    });
  }
  return session(
    serverUrl,
    { fetch: withOAuthRetry(provider, new URL(serverUrl))(fetch) },
    { versionNegotiation: { mode: "auto" } },
  );
}

const serverUrl = process.argv[2];
if (!serverUrl) {
  process.stderr.write("usage: auth-plain-client.mjs <server-url>\n");
  process.exit(2);
}
main(serverUrl).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`auth-plain-client: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
