#!/usr/bin/env node
/**
 * The conformance suite's client `auth/*` scenarios with the AGGREGATOR as the client
 * (test/conformance/run-auth.mjs runs it; the suite calls it with the scenario server's URL):
 *
 *   1. writes a config whose only server is the scenario's MCP server (`"auth": { "type": "oauth" }`, plus
 *      the pre-registered client id and secret when the scenario gives them in MCP_CONFORMANCE_CONTEXT;
 *      `"type": "client_credentials"` with its secret or private key for the client-credentials ones and
 *      `"type": "cross_app_access"` with the identity provider's ID token for the enterprise-managed one,
 *      which skip step 2);
 *   2. `autonomous-mcp login scenario --no-browser` (the built CLI), playing the user: it opens the printed
 *      authorization URL (the suite's authorization server approves at once) and follows the redirect to
 *      the CLI's loopback listener;
 *   3. `autonomous-mcp serve` over stdio with a v2 SDK client in front that lists the tools and calls
 *      `test-tool` through the aggregator; the client declares URL-mode elicitation and plays the user for
 *      it too, so a sign-in the aggregator asks for at call time (a refused token) is completed.
 *
 * Exit 0 when the call succeeded, 1 otherwise (some scenarios expect the client to refuse).
 *
 *   npm run build && node test/conformance/auth-aggregator-client.mjs <server-url>
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = path.join(ROOT, "dist", "cli.js");
const say = (line) => process.stderr.write(`auth-aggregator-client: ${line}\n`);

/** The user at the browser: the suite's authorization server redirects at once to our loopback callback. */
async function approve(url) {
  const answer = await fetch(url, { redirect: "manual" });
  const location = answer.headers.get("location");
  if (!location) throw new Error(`no redirect from the authorization endpoint (HTTP ${answer.status})`);
  const landed = await fetch(location);
  await landed.text();
}

function login(config, env) {
  const child = spawn(
    process.execPath,
    [CLI, "login", "scenario", "--no-browser", "--timeout", "20", "--config", config],
    {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  let browsing;
  child.stderr.on("data", (chunk) => {
    stderr += chunk.toString("utf8");
    const url = /^\s+(https?:\/\/\S+)$/m.exec(stderr)?.[1];
    if (url && !browsing) browsing = approve(url).catch((error) => say(`browser: ${error.message}`));
  });
  return new Promise((resolve) =>
    child.once("exit", async (code) => {
      await browsing;
      process.stderr.write(stderr);
      resolve(code);
    }),
  );
}

async function main(serverUrl) {
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
  const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? "{}");
  const tmp = mkdtempSync(path.join(tmpdir(), "amcp-conformance-auth-"));
  try {
    // A machine client (client credentials grant) where the scenario is one: no login then.
    const crossApp = context.idp_token_endpoint !== undefined;
    const machine = scenario.startsWith("auth/client-credentials") || crossApp;
    // The same Client ID Metadata Document URL the SDK's own conformance client presents.
    const auth = crossApp
      ? {
          type: "cross_app_access",
          idp: {
            tokenEndpoint: context.idp_token_endpoint,
            clientId: context.idp_client_id,
            idToken: "${CONFORMANCE_ID_TOKEN}",
          },
        }
      : machine
        ? { type: "client_credentials" }
        : { type: "oauth", clientMetadataUrl: "https://conformance-test.local/client-metadata.json" };
    if (context.client_id) auth.clientId = context.client_id;
    if (context.client_secret) auth.clientSecret = "${CONFORMANCE_CLIENT_SECRET}";
    // Secrets come in through the environment, as a user would write them: "${VAR}" in the config.
    if (context.private_key_pem) auth.privateKey = "${CONFORMANCE_PRIVATE_KEY}";
    if (context.signing_algorithm) auth.algorithm = context.signing_algorithm;
    const config = path.join(tmp, "servers.config.json");
    writeFileSync(
      config,
      JSON.stringify({
        mcpServers: { scenario: { url: serverUrl, auth, prefix: "", retry: { retries: 0 } } },
      }),
    );
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: tmp,
      AUTONOMOUS_MCP_DATA_DIR: path.join(tmp, "data"),
      AUTONOMOUS_MCP_NO_BROWSER: "1",
      AUTONOMOUS_MCP_LOG_LEVEL: process.env.AUTONOMOUS_MCP_LOG_LEVEL ?? "info",
      ...(context.private_key_pem ? { CONFORMANCE_PRIVATE_KEY: context.private_key_pem } : {}),
      ...(context.client_secret ? { CONFORMANCE_CLIENT_SECRET: context.client_secret } : {}),
      ...(context.idp_id_token ? { CONFORMANCE_ID_TOKEN: context.idp_id_token } : {}),
    };
    if (!machine) {
      say(`scenario ${scenario}: login`);
      const code = await login(config, env);
      if (code !== 0) {
        say(`login exited ${code}`);
        return 1;
      }
    }
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "serve", "--config", config],
      env,
      stderr: "inherit",
    });
    const client = new Client(
      { name: "conformance-front-client", version: "1.0.0" },
      { capabilities: { elicitation: { url: {} } } },
    );
    client.setRequestHandler("elicitation/create", async (request) => {
      const url = request.params.url;
      say(`asked to sign in (${request.params.mode})`);
      if (url) void approve(url).catch((error) => say(`browser: ${error.message}`));
      return { action: "accept" };
    });
    await client.connect(transport);
    try {
      // The server joins once connected (start-up grace): wait until it has settled, as a user would.
      let server = await settled(client);
      // Refused at connect (no call to ask a client through), the aggregator says to run login: the user does,
      // and the running aggregator picks the new tokens up when it reconnects.
      if (
        !machine &&
        server.state !== "ready" &&
        /autonomous-mcp login scenario/.test(server.lastError?.message ?? "")
      ) {
        say("the aggregator asks for a new login; logging in again");
        if ((await login(config, env)) !== 0) return 1;
        server = await settled(client, (s) => s.state === "ready");
      }
      say(`server state: ${server.state}`);
      const { tools } = await client.listTools();
      say(`tools: ${tools.map((t) => t.name).join(", ")}`);
      const result = await client.callTool({ name: "test-tool", arguments: {} });
      say(`test-tool: ${result.isError ? "isError " : ""}${JSON.stringify(result.content).slice(0, 300)}`);
      return result.isError ? 1 : 0;
    } finally {
      await client.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The scenario server's row of the status tool once `done` holds (default: no longer starting), or after 20 s. */
async function settled(client, done = (s) => s.state !== "starting" && s.state !== "connecting") {
  const deadline = Date.now() + 20_000;
  let server = { state: "unknown" };
  while (Date.now() < deadline) {
    const status = await client.callTool({ name: "status", arguments: {} });
    server = status.structuredContent?.servers?.find((s) => s.name === "scenario") ?? server;
    if (done(server)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return server;
}

const serverUrl = process.argv[2];
if (!serverUrl) {
  say("usage: auth-aggregator-client.mjs <server-url>");
  process.exit(2);
}
main(serverUrl).then(
  (code) => process.exit(code),
  (error) => {
    say(error?.stack ?? String(error));
    process.exit(1);
  },
);
