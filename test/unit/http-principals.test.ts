import type { IncomingMessage } from "node:http";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { isAggregatorError } from "../../src/errors.js";
import { MAX_BUCKETS, RateLimiter } from "../../src/front/guard.js";
import { pathOf } from "../../src/front/httpPath.js";
import {
  ANONYMOUS,
  PrincipalAuth,
  principalTokens,
  resolvePrincipals,
  type Principal,
} from "../../src/front/principals.js";
import { SessionTable, type TableEntry } from "../../src/front/sessionTable.js";

const A_TOKEN = "alice-token-0123456789";
const B_TOKEN = "bob-token-9876543210xyz";

function http(principals: unknown[], extra: Record<string, unknown> = {}) {
  return parseConfig(JSON.stringify({ mcpServers: {}, http: { principals, ...extra } }), "c.json").config
    .http;
}

function req(authorization?: string): IncomingMessage {
  return { headers: authorization === undefined ? {} : { authorization } } as IncomingMessage;
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (isAggregatorError(error, "CONFIG_INVALID")) return error.message.split("\n");
    throw error;
  }
  throw new Error("expected CONFIG_INVALID");
}

describe("principals from the config", () => {
  it("expands ${VAR} tokens, adds the CLI token as principal default, and shares maxSessions fairly", () => {
    const h = http(
      [
        { name: "alice", token: "${A}" },
        { name: "bob", token: "${B}", maxSessions: 7 },
      ],
      { maxSessions: 90 },
    );
    const principals = resolvePrincipals(h, "cli-token-0123456789", { A: A_TOKEN, B: B_TOKEN });
    expect(principals).toEqual([
      { name: "default", token: "cli-token-0123456789", maxSessions: 30 },
      { name: "alice", token: A_TOKEN, maxSessions: 30 },
      { name: "bob", token: B_TOKEN, maxSessions: 7 },
    ]);
    expect(principalTokens(h, { A: A_TOKEN })).toEqual([A_TOKEN]);
  });

  it("takes http.maxSessionsPerPrincipal over the fair share", () => {
    const h = http([{ name: "alice", token: A_TOKEN }], { maxSessions: 10, maxSessionsPerPrincipal: 4 });
    expect(resolvePrincipals(h, undefined, {})[0]?.maxSessions).toBe(4);
  });

  it("names every bad principal, never printing a token", () => {
    const h = http([
      { name: "alice", token: "${UNSET_TOKEN}" },
      { name: "bob", token: "short" },
      { name: "bob", token: B_TOKEN },
      { name: "carol", token: A_TOKEN },
      { name: "dave", token: A_TOKEN },
      { name: "default", token: "${D}" },
    ]);
    const problems = problemsOf(() =>
      resolvePrincipals(h, "cli-token-0123456789", { D: "default-token-0123456" }, "c.json"),
    );
    expect(problems).toEqual([
      "c.json: http.principals[0].token: ${UNSET_TOKEN} is not set",
      "c.json: http.principals[1].token: must be at least 16 characters",
      'c.json: http.principals[2].name: "bob" is used twice',
      'c.json: http.principals[4].token: the same token as principal "carol"',
      'c.json: http.principals[5].name: "default" is used twice (the --auth-token / AUTONOMOUS_MCP_TOKEN principal is named default)',
    ]);
    expect(problems.join("\n")).not.toContain(A_TOKEN);
  });

  it("rejects the reserved name anonymous and names that do not fit a log line", () => {
    for (const name of ["anonymous", "", "has space", "x".repeat(65), "-dash-first"]) {
      expect(() => http([{ name, token: A_TOKEN }])).toThrow(/http\.principals\[0\]\.name/);
    }
  });
});

describe("PrincipalAuth", () => {
  const auth = new PrincipalAuth(
    [
      { name: "alice", token: A_TOKEN, maxSessions: 3 },
      { name: "bob", token: B_TOKEN, maxSessions: 5 },
    ],
    100,
  );

  it("maps each bearer token to its principal, and anything else to none", () => {
    expect(auth.secured).toBe(true);
    expect(auth.identify(req(`Bearer ${A_TOKEN}`))?.name).toBe("alice");
    expect(auth.identify(req(`bearer   ${B_TOKEN}`))).toEqual({ name: "bob", maxSessions: 5 });
    for (const h of [
      undefined,
      "",
      "Bearer",
      `Basic ${A_TOKEN}`,
      `Bearer ${A_TOKEN}x`,
      `Bearer ${A_TOKEN.slice(1)}`,
    ])
      expect(auth.identify(req(h))).toBeUndefined();
  });

  it("without principals every request is the anonymous principal, holding maxSessions", () => {
    const open = new PrincipalAuth([], 42);
    expect(open.secured).toBe(false);
    expect(open.identify(req())).toEqual({ name: ANONYMOUS, maxSessions: 42 });
    expect(open.identify(req("Bearer whatever-it-is"))?.name).toBe(ANONYMOUS);
    expect(open.names).toEqual([ANONYMOUS]);
  });
});

interface Entry extends TableEntry {
  readonly tag: string;
}

function entry(principal: string, lastSeen: number, active = 0): Entry {
  return { principal, lastSeen, active, tag: `${principal}@${lastSeen}` };
}

describe("SessionTable", () => {
  const alice: Principal = { name: "alice", maxSessions: 2 };
  const bob: Principal = { name: "bob", maxSessions: 2 };

  it("finds a session only for the principal that owns it", () => {
    const t = new SessionTable<Entry>(10);
    t.set("s1", entry("alice", 1));
    expect(t.lookup("s1", "alice")?.tag).toBe("alice@1");
    expect(t.lookup("s1", "bob")).toBeUndefined();
    expect(t.lookup("nope", "alice")).toBeUndefined();
  });

  it("at its cap a principal gives up its own least recently used idle session, never another's", () => {
    const t = new SessionTable<Entry>(10);
    t.set("b1", entry("bob", 0));
    t.set("a1", entry("alice", 5, 1)); // a request open: not idle
    t.set("a2", entry("alice", 7));
    t.set("a3", entry("alice", 6));
    const admitted = t.admit(alice);
    expect(admitted.ok && admitted.evict?.[0]).toBe("a3");
  });

  it("refuses with 429 when every session of the principal is in use", () => {
    const t = new SessionTable<Entry>(10);
    t.set("a1", entry("alice", 1, 1));
    t.set("a2", entry("alice", 2, 2));
    t.set("b1", entry("bob", 0));
    const refused = t.admit(alice);
    expect(refused).toMatchObject({ ok: false, status: 429, reason: "principal_cap" });
    expect(!refused.ok && refused.message).toMatch(/principal "alice" has 2 open, all in use/);
  });

  it("refuses with 503 at the global ceiling unless the principal has an idle session of its own", () => {
    const t = new SessionTable<Entry>(3);
    t.set("a1", entry("alice", 1));
    t.set("a2", entry("alice", 2));
    t.set("c1", entry("carol", 0));
    expect(t.admit(bob)).toMatchObject({ ok: false, status: 503, reason: "ceiling" });
    const own = t.admit({ name: "carol", maxSessions: 2 });
    expect(own.ok && own.evict?.[0]).toBe("c1");
  });

  it("counts sessions being initialized, so concurrent initializes cannot pass a cap", () => {
    const t = new SessionTable<Entry>(10);
    const first = t.admit(alice);
    const second = t.admit(alice);
    expect(first.ok && second.ok).toBe(true);
    expect(t.admit(alice)).toMatchObject({ ok: false, status: 429 });
    if (first.ok) first.release();
    if (first.ok) first.release(); // twice is harmless
    expect(t.admit(alice).ok).toBe(true);
    expect(t.admit(bob).ok).toBe(true);
  });
});

describe("RateLimiter", () => {
  it("keeps at most maxBuckets buckets whatever the keys (100,000 random session ids)", () => {
    const limiter = new RateLimiter({ requestsPerSecond: 50, burst: 100 });
    for (let i = 0; i < 100_000; i++) limiter.take(crypto.randomUUID());
    expect(limiter.size).toBe(MAX_BUCKETS);
    const small = new RateLimiter({ requestsPerSecond: 1, burst: 2 }, Date.now, 10);
    for (let i = 0; i < 1_000; i++) small.take(`k${i}`);
    expect(small.size).toBe(10);
  });

  it("still limits the key in use (the least recently used bucket is the one dropped)", () => {
    let now = 0;
    const limiter = new RateLimiter({ requestsPerSecond: 1, burst: 2 }, () => now, 3);
    expect(limiter.take("hot")).toBe(0);
    expect(limiter.take("hot")).toBe(0);
    for (let i = 0; i < 10; i++) {
      limiter.take(`cold${i}`);
      expect(limiter.take("hot")).toBeGreaterThan(0);
    }
    now += 1_000;
    expect(limiter.take("hot")).toBe(0);
  });
});

describe("pathOf", () => {
  it("takes the path of every request-target form and never throws", () => {
    expect(pathOf("/mcp")).toBe("/mcp");
    expect(pathOf("/mcp?x=1#f")).toBe("/mcp");
    expect(pathOf("//")).toBe("//");
    expect(pathOf("/%")).toBe("/%");
    expect(pathOf("http://127.0.0.1:3000/mcp?q")).toBe("/mcp");
    for (const bad of [undefined, "", "*", "127.0.0.1:3000", "http://[zz/", "mcp"])
      expect(pathOf(bad)).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (url) => {
        const path = pathOf(url);
        return path === undefined || path.startsWith("/");
      }),
      { numRuns: 2_000 },
    );
  });
});
