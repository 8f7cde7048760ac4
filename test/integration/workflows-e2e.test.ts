/**
 * The shipped workflows (src/workflows/builtins) and the workflow engine end to end: the built CLI over
 * stdio in front of the real github, trello, postman and memory servers (pointed at the fake SaaS APIs)
 * plus fault-server instances. Asserts what the fakes received and what the memory file holds.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { faultServerEntry } from "../helpers/fault-server.js";
import {
  startStdio,
  tempDir,
  waitFor,
  writeConfig,
  type StdioHarness,
  type TempDir,
} from "../helpers/aggregator.js";
import {
  realServerEntry,
  startFakeGithub,
  startFakePostman,
  startFakeTrello,
  type FakeApi,
  type FakePostman,
  type FakeTrello,
  type RecordedRequest,
} from "../helpers/real-servers.js";

const SHIPPED = [
  "github_issue_to_trello_card",
  "triage_github_issues",
  "postman_collection_to_memory",
  "postman_collection_item_to_memory",
  "remember_github_repository",
];

interface TraceEntry {
  id: string;
  tool: string;
  status: string;
  items?: number;
  error?: string;
  reason?: string;
}
interface Outcome {
  status: "ok" | "partial" | "failed" | "cancelled";
  output: Record<string, unknown> | null;
  trace: TraceEntry[];
  failed?: { step: string; error: string };
  compensated?: string[];
}
interface Card {
  id: string;
  name: string;
  url: string;
  shortUrl: string;
  closed: boolean;
  desc: string;
}
interface GraphLine {
  type: "entity" | "relation";
  name?: string;
  entityType?: string;
  observations?: string[];
  from?: string;
  to?: string;
  relationType?: string;
}

function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

function outcome(result: unknown): Outcome {
  return (result as CallToolResult).structuredContent as unknown as Outcome;
}

function expectOk(result: unknown): Outcome {
  const r = result as CallToolResult;
  expect(r.isError ?? false, text(r)).toBe(false);
  const o = outcome(r);
  expect(o.status, text(r)).toBe("ok");
  return o;
}

function graph(file: string): GraphLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as GraphLine);
}

function entity(lines: GraphLine[], name: string): GraphLine | undefined {
  return lines.find((l) => l.type === "entity" && l.name === name);
}

function hasRelation(lines: GraphLine[], from: string, relationType: string, to: string): boolean {
  return lines.some(
    (l) => l.type === "relation" && l.from === from && l.to === to && l.relationType === relationType,
  );
}

/** Requests recorded since `from` (an index into the fake's log). */
function since(fake: FakeApi, from: number): RecordedRequest[] {
  return fake.requests.slice(from);
}

function trelloCards(fake: FakeTrello): Map<string, Card> {
  return (fake.state as { cards: Map<string, Card> }).cards;
}

function shown(reqs: RecordedRequest[]): string[] {
  return reqs.map((r) => `${r.method} ${r.path}`);
}

async function listAll(h: StdioHarness): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await h.client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

async function waitForTools(h: StdioHarness, names: string[]): Promise<Tool[]> {
  let tools: Tool[] = [];
  await waitFor(
    async () => {
      tools = await listAll(h);
      return names.every((n) => tools.some((t) => t.name === n));
    },
    20_000,
    100,
  );
  return tools;
}

describe("workflows end to end through the aggregator (stdio, real servers, fake APIs)", () => {
  let tmp: TempDir;
  let github: FakeApi;
  let trello: FakeTrello;
  let postman: FakePostman;
  let h: StdioHarness;
  let broken: StdioHarness;
  let memoryFile: string;
  let faultState: string;

  beforeAll(async () => {
    tmp = await tempDir("amcp-wf-e2e-");
    [github, trello, postman] = await Promise.all([startFakeGithub(), startFakeTrello(), startFakePostman()]);
    const home = path.join(tmp.dir, "home");
    const fakes = { github: github.url, trello: trello.url, postman: postman.url };
    const real = {
      github: realServerEntry("github", { home, fakes }),
      trello: realServerEntry("trello", { home, fakes }),
      postman: realServerEntry("postman", { home, fakes }),
      memory: realServerEntry("memory", { home, dataDir: path.join(tmp.dir, "data") }),
    };
    memoryFile = real.memory.env["MEMORY_FILE_PATH"] ?? "";
    faultState = path.join(tmp.dir, "fault-state.json");
    const config = await writeConfig(tmp.dir, {
      mcpServers: {
        ...real,
        fault: faultServerEntry("normal", { FAULT_STATE_FILE: faultState }),
        // A breaker that opens after two timeouts and stays open for the rest of the run.
        fuse: {
          ...faultServerEntry("normal"),
          retry: { retries: 0 },
          breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 600_000 },
          tools: { overrides: { slow: { timeoutMs: 100 } } },
        },
      },
      workflows: {
        slow_then_write: {
          description: "Writes, waits, writes again (cancellation test).",
          steps: [
            {
              id: "before",
              tool: "fault_write",
              args: { value: "before" },
              compensate: { tool: "fault_write", args: { value: "undo {{steps.before.result}}" } },
            },
            { id: "wait", tool: "fault_slow", args: { ms: 20_000 }, dependsOn: ["before"] },
            { id: "after", tool: "fault_write", args: { value: "after" }, dependsOn: ["wait"] },
          ],
        },
        through_fuse: {
          steps: [
            { id: "ping", tool: "fuse_echo", args: { message: "hi" } },
            { id: "next", tool: "fault_echo", args: { message: "{{steps.ping.result}}" } },
          ],
        },
        echo_chain: {
          input: { type: "object", properties: { word: { type: "string" } }, required: ["word"] },
          steps: [
            { id: "a", tool: "fault_echo", args: { message: "{{input.word}}" } },
            { id: "b", tool: "fault_echo", args: { message: "b {{steps.a.result}}" } },
            { id: "c", tool: "fault_echo", args: { message: "c {{steps.a.result}}" } },
            { id: "skip", tool: "fault_echo", when: false, args: { message: "never" } },
            { id: "d", tool: "fault_echo", args: { message: "{{steps.b.result}} {{steps.c.result}}" } },
          ],
          output: "{{steps.d.result}}",
        },
      },
    });

    // A second aggregator whose memory server cannot use its file (the path is a folder: EISDIR): every
    // memory call fails, so the shipped workflows fail in their last steps and must undo their Trello cards.
    const brokenDir = path.join(tmp.dir, "broken");
    const brokenMemory = realServerEntry("memory", { home, dataDir: brokenDir });
    mkdirSync(path.join(brokenDir, "memory.jsonl"), { recursive: true });
    const brokenConfig = await writeConfig(
      tmp.dir,
      {
        mcpServers: {
          github: real.github,
          trello: real.trello,
          memory: brokenMemory,
        },
        // A configured workflow replaces the shipped one of the same name.
        workflows: {
          remember_github_repository: {
            description: "Replaced by the config.",
            input: { type: "object", properties: { n: { type: "integer" } } },
            steps: [
              {
                id: "issue",
                tool: "github_get_issue",
                args: { owner: "octocat", repo: "hello-world", issue_number: "{{input.n}}" },
              },
            ],
          },
        },
      },
      "broken.config.json",
    );

    [h, broken] = await Promise.all([startStdio(config), startStdio(brokenConfig)]);
    await Promise.all([
      waitForTools(h, [...SHIPPED, "slow_then_write", "through_fuse", "echo_chain"]),
      waitForTools(broken, ["github_issue_to_trello_card", "triage_github_issues"]),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([h?.close(), broken?.close()]);
    await Promise.all([github?.close(), trello?.close(), postman?.close()]);
    await tmp?.cleanup();
  });

  it("serves every shipped workflow when the four servers are connected", async () => {
    const tools = await listAll(h);
    for (const name of SHIPPED) {
      const tool = tools.find((t) => t.name === name);
      expect(tool, name).toBeDefined();
      expect(tool?.description?.length ?? 0).toBeGreaterThan(80);
      expect(tool?.inputSchema.type).toBe("object");
      expect(Object.keys(tool?.inputSchema.properties ?? {}).length).toBeGreaterThan(0);
      for (const prop of Object.values(tool?.inputSchema.properties ?? {})) {
        expect((prop as { description?: string }).description, `${name} input`).toBeTruthy();
      }
      expect(tool?.annotations?.readOnlyHint, name).toBe(false);
    }
    const card = tools.find((t) => t.name === "github_issue_to_trello_card");
    expect(card?.inputSchema.required).toEqual(["owner", "repo", "issue_number", "list_id"]);
    // Archiving a card (the compensation) is destructive.
    expect(card?.annotations?.destructiveHint).toBe(true);
    // Without postman, the postman workflow is left out; the others are served.
    const brokenTools = await listAll(broken);
    const brokenNames = brokenTools.map((t) => t.name);
    expect(brokenNames).not.toContain("postman_collection_to_memory");
    // Its helper needs only memory tools, but is served only with the workflow that uses it.
    expect(brokenNames).not.toContain("postman_collection_item_to_memory");
    expect(brokenNames).toContain("triage_github_issues");
    // ... and a configured workflow replaces the shipped one of the same name.
    const replaced = brokenTools.find((t) => t.name === "remember_github_repository");
    expect(replaced?.description).toBe("Replaced by the config.");
    expect(Object.keys(replaced?.inputSchema.properties ?? {})).toEqual(["n"]);
  });

  it("github_issue_to_trello_card: issue → Trello card → memory entities, observation and relation", async () => {
    const [g0, t0] = [github.requests.length, trello.requests.length];
    const result = await h.client.callTool({
      name: "github_issue_to_trello_card",
      arguments: { owner: "octocat", repo: "hello-world", issue_number: 1, list_id: trello.seed.lists.todo },
    });
    const o = expectOk(result);
    expect(o.trace.map((t) => `${t.id}:${t.status}`)).toEqual([
      "issue:ok",
      "card:ok",
      "remember:ok",
      "link:ok",
      "relate:ok",
    ]);

    expect(shown(since(github, g0))).toEqual(["GET /repos/octocat/hello-world/issues/1"]);
    const posts = since(trello, t0).filter((r) => r.method === "POST" && r.path === "/1/cards");
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body).toMatchObject({
      idList: trello.seed.lists.todo,
      name: "Found a bug",
      desc: "https://github.com/octocat/hello-world/issues/1\n\nI'm having a problem with this.",
    });

    const output = o.output as {
      issue_url: string;
      card: { id: string; url: string };
      memory_entity: string;
    };
    const card = trelloCards(trello).get(output.card.id);
    expect(card?.name).toBe("Found a bug");
    expect(card?.closed).toBe(false);
    expect(output).toMatchObject({
      issue_url: "https://github.com/octocat/hello-world/issues/1",
      card: { id: card?.id, url: card?.url },
      memory_entity: "octocat/hello-world#1",
    });

    const g = graph(memoryFile);
    const issue = entity(g, "octocat/hello-world#1");
    expect(issue?.entityType).toBe("github_issue");
    expect(issue?.observations).toContain(`Trello card: ${card?.url}`);
    expect(entity(g, card?.shortUrl ?? "")?.entityType).toBe("trello_card");
    expect(hasRelation(g, "octocat/hello-world#1", "is_tracked_by", card?.shortUrl ?? "")).toBe(true);
  });

  it("triage_github_issues: one card per open issue (label filter, bounded) and a summary entity", async () => {
    const [g0, t0] = [github.requests.length, trello.requests.length];
    const byLabel = await h.client.callTool({
      name: "triage_github_issues",
      arguments: { owner: "octocat", repo: "hello-world", list_id: trello.seed.lists.doing, label: "bug" },
    });
    const o1 = expectOk(byLabel);
    expect(o1.output).toMatchObject({ issues: 1, summary_entity: "Trello triage of octocat/hello-world" });
    const all = await h.client.callTool({
      name: "triage_github_issues",
      arguments: { owner: "octocat", repo: "hello-world", list_id: trello.seed.lists.doing, limit: 2 },
    });
    const o2 = expectOk(all);
    expect(o2.trace.find((t) => t.id === "cards")?.items).toBe(2);

    const lists = since(github, g0).filter((r) => r.path === "/repos/octocat/hello-world/issues");
    expect(lists.map((r) => r.query)).toEqual([
      expect.objectContaining({ state: "open", labels: "bug", per_page: "10" }),
      expect.objectContaining({ state: "open", labels: "", per_page: "2" }),
    ]);
    const posts = since(trello, t0).filter((r) => r.method === "POST" && r.path === "/1/cards");
    // Newest first: #4 (a pull request: GitHub lists them as issues) and #3.
    expect(posts.map((p) => (p.body as { name: string }).name)).toEqual([
      "Found a bug",
      "Fix the greeting",
      "Docs are out of date",
    ]);
    for (const p of posts) expect((p.body as { idList: string }).idList).toBe(trello.seed.lists.doing);

    const cards = (o2.output as { cards: Card[] }).cards;
    const summary = entity(graph(memoryFile), "Trello triage of octocat/hello-world");
    expect(summary?.entityType).toBe("triage_summary");
    for (const c of [...(o1.output as { cards: Card[] }).cards, ...cards]) {
      expect(summary?.observations).toContain(`card ${c.url}: ${c.name}`);
    }
  });

  it("postman_collection_to_memory: collection, folder and requests become entities with relations", async () => {
    const p0 = postman.requests.length;
    const result = await h.client.callTool({
      name: "postman_collection_to_memory",
      arguments: { collection_id: postman.seed.collectionUid },
    });
    const o = expectOk(result);
    expect(o.trace.find((t) => t.id === "items")?.items).toBe(2);
    expect(shown(since(postman, p0))).toEqual([`GET /collections/${postman.seed.collectionUid}`]);
    expect(o.output).toMatchObject({
      collection: "Pet Store API",
      collection_id: postman.seed.collectionUid,
    });

    const g = graph(memoryFile);
    expect(entity(g, "Pet Store API")?.entityType).toBe("postman_collection");
    expect(entity(g, "Pet Store API / Pets")?.entityType).toBe("postman_folder");
    for (const r of [
      "Pet Store API / Pets / List pets",
      "Pet Store API / Pets / Create a pet",
      "Pet Store API / Health check",
    ]) {
      expect(entity(g, r)?.entityType, r).toBe("postman_request");
    }
    expect(hasRelation(g, "Pet Store API", "contains", "Pet Store API / Pets")).toBe(true);
    expect(hasRelation(g, "Pet Store API", "contains", "Pet Store API / Health check")).toBe(true);
    expect(hasRelation(g, "Pet Store API / Pets", "contains", "Pet Store API / Pets / List pets")).toBe(true);
    expect(hasRelation(g, "Pet Store API / Pets", "contains", "Pet Store API / Pets / Create a pet")).toBe(
      true,
    );
  });

  it("remember_github_repository: repository and its issues in memory, issue -belongs_to-> repository", async () => {
    const g0 = github.requests.length;
    const result = await h.client.callTool({
      name: "remember_github_repository",
      arguments: { owner: "octocat", repo: "hello-world" },
    });
    const o = expectOk(result);
    expect(o.output).toEqual({
      repository: "octocat/hello-world",
      url: "https://github.com/octocat/hello-world",
      issues: 4,
    });
    const reqs = since(github, g0);
    expect(reqs.find((r) => r.path === "/search/repositories")?.query).toMatchObject({
      q: "repo:octocat/hello-world",
    });
    expect(reqs.find((r) => r.path === "/repos/octocat/hello-world/issues")?.query).toMatchObject({
      state: "all",
      sort: "updated",
      per_page: "10",
    });

    const g = graph(memoryFile);
    const repo = entity(g, "octocat/hello-world");
    expect(repo?.entityType).toBe("github_repository");
    expect(repo?.observations).toContain("url: https://github.com/octocat/hello-world");
    for (const n of [1, 2, 3, 4]) {
      expect(entity(g, `octocat/hello-world#${n}`)?.entityType).toBe("github_issue");
      expect(hasRelation(g, `octocat/hello-world#${n}`, "belongs_to", "octocat/hello-world")).toBe(true);
    }
  });

  it("a repository that does not exist fails the workflow, naming the step and the template", async () => {
    const result = (await h.client.callTool({
      name: "remember_github_repository",
      arguments: { owner: "octocat", repo: "does-not-exist" },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(outcome(result).status).toBe("failed");
    expect(text(result)).toMatch(/Failed at (issues|repository_entity)/);
  });

  it("rejects arguments that do not match the input schema before calling anything", async () => {
    const g0 = github.requests.length;
    const result = (await h.client
      .callTool({
        name: "github_issue_to_trello_card",
        arguments: { owner: "octocat", repo: "hello-world" },
      })
      .catch((e: unknown) => ({
        isError: true,
        content: [{ type: "text", text: String(e) }],
      }))) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/issue_number/);
    expect(github.requests.length).toBe(g0);
  });

  describe("compensation when the last step fails (memory cannot read or write its file)", () => {
    it("github_issue_to_trello_card archives the card it created and says what failed and what was undone", async () => {
      const t0 = trello.requests.length;
      const result = (await broken.client.callTool({
        name: "github_issue_to_trello_card",
        arguments: {
          owner: "octocat",
          repo: "hello-world",
          issue_number: 3,
          list_id: trello.seed.lists.todo,
        },
      })) as CallToolResult;
      expect(result.isError, text(result)).toBe(true);
      const o = outcome(result);
      expect(o.status).toBe("failed");
      expect(o.failed?.step).toBe("remember");
      expect(o.compensated).toEqual(["card"]);
      expect(o.trace.find((t) => t.id === "card")?.status).toBe("compensated");
      expect(o.trace.find((t) => t.id === "link")?.status).toBe("skipped");

      const reqs = since(trello, t0);
      const created = reqs.find((r) => r.method === "POST" && r.path === "/1/cards");
      expect((created?.body as { name: string }).name).toBe("Docs are out of date");
      const card = [...trelloCards(trello).values()].find(
        (c) => c.name === "Docs are out of date" && c.closed,
      );
      expect(card).toBeDefined();
      const archive = reqs.find((r) => r.method === "PUT" && r.path === `/1/cards/${card?.id}`);
      expect(archive?.body).toMatchObject({ closed: true });
      expect(text(result)).toMatch(/Undone: card/);
    });

    it("triage_github_issues archives every card of the run, newest first", async () => {
      const t0 = trello.requests.length;
      const result = (await broken.client.callTool({
        name: "triage_github_issues",
        arguments: { owner: "octocat", repo: "hello-world", list_id: trello.seed.lists.done, limit: 3 },
      })) as CallToolResult;
      const o = outcome(result);
      expect(o.status).toBe("failed");
      expect(o.failed?.step).toBe("summary");
      expect(o.compensated).toEqual(["cards"]);
      const reqs = since(trello, t0);
      const created = reqs
        .filter((r) => r.method === "POST" && r.path === "/1/cards")
        .map((r) => (r.body as { name: string }).name);
      expect(created).toEqual(["Fix the greeting", "Docs are out of date", "Found a bug"]);
      const inDone = [...trelloCards(trello).values()].filter(
        (c) => (c as unknown as { idList: string }).idList === trello.seed.lists.done,
      );
      expect(inDone.map((c) => c.closed)).toEqual([true, true, true]);
      const archived = reqs.filter(
        (r) => r.method === "PUT" && (r.body as { closed?: boolean })?.closed === true,
      );
      const idOf = new Map(inDone.map((c) => [`/1/cards/${c.id}`, c.name]));
      expect(archived.map((r) => idOf.get(r.path))).toEqual([
        "Found a bug",
        "Docs are out of date",
        "Fix the greeting",
      ]);
    });
  });

  it("cancellation mid-workflow aborts the slow step, starts nothing after it and undoes what completed", async () => {
    const controller = new AbortController();
    const pending = h.client.callTool({ name: "slow_then_write", arguments: {} }, undefined, {
      signal: controller.signal,
    });
    await waitFor(async () => {
      const stats = JSON.parse(text(await h.client.callTool({ name: "fault_stats", arguments: {} }))) as {
        calls: Record<string, number>;
      };
      return (stats.calls["slow"] ?? 0) > 0;
    });
    controller.abort("user pressed stop");
    await expect(pending).rejects.toThrow();

    // The fault server rewrites its state file in place: a read may catch it half-written.
    const writes = (): string[] => {
      try {
        return (JSON.parse(readFileSync(faultState, "utf8")) as { writes: string[] }).writes;
      } catch {
        return [];
      }
    };
    await waitFor(() => writes().includes("undo 1"));
    const stats = JSON.parse(text(await h.client.callTool({ name: "fault_stats", arguments: {} }))) as {
      aborted: unknown[];
      calls: Record<string, number>;
    };
    expect(stats.aborted.length).toBeGreaterThan(0);
    // Give a (wrongly) scheduled "after" step time to show up.
    await new Promise((r) => setTimeout(r, 300));
    expect(writes()).toEqual(["before", "undo 1"]);
  });

  it("a step hitting an open circuit breaker fails the workflow with the breaker's message", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await h.client
        .callTool({ name: "fuse_slow", arguments: { ms: 2_000 } })
        .catch((e: unknown) => e);
      expect(JSON.stringify(r)).toMatch(/timed out|timeout/i);
    }
    const result = (await h.client.callTool({ name: "through_fuse", arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    const o = outcome(result);
    expect(o.status).toBe("failed");
    expect(o.failed?.step).toBe("ping");
    expect(o.failed?.error).toMatch(/fuse is unavailable \(circuit open after 2 failures/);
    expect(o.trace.find((t) => t.id === "next")?.status).toBe("skipped");
  });

  it("sends one progress notification per finished step to the caller's progressToken, before the result", async () => {
    // Tapped below the SDK client: it dispatches notifications a microtask after reading them but resolves
    // a response at once, so a progress line read in the same chunk as the result never reaches onprogress.
    const wire: {
      kind: "progress" | "result";
      token?: unknown;
      progress?: number;
      total?: number;
      message?: string;
    }[] = [];
    const transport = h.transport;
    const dispatch = transport.onmessage;
    transport.onmessage = (message) => {
      const m = message as {
        method?: string;
        params?: Record<string, unknown>;
        id?: unknown;
        result?: unknown;
      };
      if (m.method === "notifications/progress") {
        const p = m.params ?? {};
        wire.push({
          kind: "progress",
          token: p["progressToken"],
          progress: p["progress"] as number,
          total: p["total"] as number,
          message: p["message"] as string,
        });
      } else if (m.result !== undefined && wire.length > 0) wire.push({ kind: "result", token: m.id });
      dispatch?.(message);
    };
    try {
      const result = await h.client.callTool({ name: "echo_chain", arguments: { word: "hi" } }, undefined, {
        onprogress: () => undefined,
      });
      const o = expectOk(result);
      expect(o.output).toBe("b hi c hi");
    } finally {
      transport.onmessage = dispatch;
    }
    const progress = wire.filter((w) => w.kind === "progress");
    expect(progress.map((p) => p.progress)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.every((p) => p.total === 5)).toBe(true);
    // All under the caller's token (the SDK client uses the request id), and all before the result.
    expect(new Set(progress.map((p) => p.token)).size).toBe(1);
    expect(wire.at(-1)).toEqual({ kind: "result", token: progress[0]?.token });
    const messages = progress.map((p) => p.message ?? "");
    expect([...messages].sort()).toEqual(["a: ok", "b: ok", "c: ok", "d: ok", "skip: skipped"]);
    expect(messages.at(-1)).toBe("d: ok");
  });

  describe("run_workflow (ad-hoc definitions)", () => {
    it("runs a valid definition", async () => {
      const g0 = github.requests.length;
      const result = await h.client.callTool({
        name: "run_workflow",
        arguments: {
          workflow: {
            input: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] },
            steps: [
              {
                id: "issue",
                tool: "github_get_issue",
                args: { owner: "octocat", repo: "hello-world", issue_number: "{{input.n}}" },
              },
              { id: "find", tool: "memory_search_nodes", args: { query: "{{steps.issue.result.title}}" } },
            ],
            output: { title: "{{steps.issue.result.title}}", found: "{{steps.find.result.entities.length}}" },
          },
          input: { n: 2 },
        },
      });
      const o = expectOk(result);
      // remember_github_repository (above) recorded issue #2 under its title.
      expect(o.output).toEqual({ title: "Add a dark mode", found: 1 });
      expect(shown(since(github, g0))).toEqual(["GET /repos/octocat/hello-world/issues/2"]);
    });

    it("answers an invalid definition with isError listing every problem", async () => {
      const result = (await h.client.callTool({
        name: "run_workflow",
        arguments: {
          workflow: {
            input: { type: "object", properties: { owner: { type: "string" } } },
            steps: [
              { id: "a", tool: "github_get_isue", args: { owner: "{{input.ownr}}" } },
              { id: "b", tool: "memory_read_graph", args: { x: "{{steps.nope.result}}" } },
              { id: "a", tool: "memory_read_graph" },
            ],
          },
        },
      })) as CallToolResult;
      expect(result.isError).toBe(true);
      const t = text(result);
      expect(t).toMatch(/unknown tool "github_get_isue"/);
      expect(t).toMatch(/unknown input property "ownr"/);
      expect(t).toMatch(/unknown step "nope"/);
      expect(t).toMatch(/duplicate step id "a"/);
    });

    it("dryRun returns levels, resolved tools and hints without calling anything", async () => {
      const before = [github.requests.length, trello.requests.length, postman.requests.length];
      const graphBefore = readFileSync(memoryFile, "utf8");
      const result = (await h.client.callTool({
        name: "run_workflow",
        arguments: {
          dryRun: true,
          workflow: {
            steps: [
              {
                id: "issue",
                tool: "github_get_issue",
                args: { owner: "octocat", repo: "hello-world", issue_number: 1 },
              },
              {
                id: "collection",
                tool: "postman_getCollection",
                args: { collectionId: postman.seed.collectionUid },
              },
              {
                id: "card",
                tool: "trello_add_card_to_list",
                args: { listId: trello.seed.lists.todo, name: "{{steps.issue.result.title}}" },
                compensate: { tool: "trello_archive_card", args: { cardId: "{{steps.card.result.id}}" } },
              },
              {
                id: "remember",
                tool: "memory_create_entities",
                args: { entities: [] },
                dependsOn: ["card", "collection"],
              },
            ],
          },
        },
      })) as CallToolResult;
      expect(result.isError ?? false, text(result)).toBe(false);
      const plan = (
        result.structuredContent as {
          plan: {
            levels: string[][];
            steps: {
              id: string;
              target: { kind: string; server?: string; originalName?: string };
              compensate?: unknown;
            }[];
            hints: { readOnlyHint: boolean; destructiveHint: boolean };
          };
        }
      ).plan;
      expect(plan.levels).toEqual([["issue", "collection"], ["card"], ["remember"]]);
      expect(plan.steps.find((s) => s.id === "issue")?.target).toMatchObject({
        kind: "tool",
        server: "github",
        originalName: "get_issue",
      });
      expect(plan.steps.find((s) => s.id === "collection")?.target).toMatchObject({
        server: "postman",
        originalName: "getCollection",
      });
      expect(plan.steps.find((s) => s.id === "card")?.compensate).toMatchObject({
        tool: "trello_archive_card",
        target: { server: "trello", originalName: "archive_card" },
      });
      expect(plan.hints).toEqual({ readOnlyHint: false, destructiveHint: true });
      expect(text(result)).toMatch(/Level 0:/);
      expect([github.requests.length, trello.requests.length, postman.requests.length]).toEqual(before);
      expect(readFileSync(memoryFile, "utf8")).toBe(graphBefore);
    });
  });
});
