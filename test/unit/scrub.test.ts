import { describe, expect, it } from "vitest";
import { createScrubber, redactCredentials, scrubForClients } from "../../src/secrets.js";

describe("redactCredentials (log lines and client-visible errors)", () => {
  it.each([
    ["Authorization: Bearer abcdefgh12345678", "Authorization: Bearer [redacted]"],
    ["basic dXNlcjpwYXNzd29yZA==", "basic [redacted]"],
    [
      "GET https://deploy:s3cr3t@api.example.test/v1 failed",
      "GET https://[redacted]@api.example.test/v1 failed",
    ],
    ["url=https://tok3n@host.example/x", "url=https://[redacted]@host.example/x"],
    [
      "fetch /v1/boards?key=abc123&token=def456&fields=name",
      "fetch /v1/boards?key=[redacted]&token=[redacted]&fields=name",
    ],
    ["github said ghp_0123456789abcdefghijABCDEFGHIJ0123 is bad", "github said [redacted] is bad"],
    ["key sk-live-0123456789abcdef0123 expired", "key [redacted] expired"],
    ["jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "jwt [redacted]"],
    ["AKIAIOSFODNN7EXAMPLE denied", "[redacted] denied"],
    // OAuth: token-endpoint answers, refresh/code-exchange form bodies, the loopback callback URL.
    [
      'token answer {"access_token":"at_Zm9vYmFy","token_type":"Bearer","refresh_token":"rt_YmF6cXV4"}',
      'token answer {"access_token":"[redacted]","token_type":"Bearer","refresh_token":"[redacted]"}',
    ],
    [
      "refresh form: grant_type=refresh_token&refresh_token=rt_abc123&client_id=dyn_1",
      "refresh form: grant_type=refresh_token&refresh_token=[redacted]&client_id=dyn_1",
    ],
    [
      "callback http://127.0.0.1:5555/callback?code=code_s3cr3t&state=abc&iss=http://as",
      "callback http://127.0.0.1:5555/callback?code=[redacted]&state=abc&iss=http://as",
    ],
    ["form code=x&code_verifier=v3r1f13r-long", "form code=x&code_verifier=[redacted]"],
  ])("%s", (input, expected) => {
    expect(redactCredentials(input)).toBe(expected);
  });

  it("leaves ordinary text alone", () => {
    const text =
      "memory_read_graph failed: connection closed after 3 attempts (see https://example.test/docs?page=2)";
    expect(redactCredentials(text)).toBe(text);
  });

  it("is part of every log scrubber, with the known secrets first", () => {
    const scrub = createScrubber(["my-known-secret"]);
    expect(scrub("x my-known-secret https://u:p4ss@h.test Bearer 0123456789ab")).toBe(
      "x [redacted] https://[redacted]@h.test Bearer [redacted]",
    );
  });
});

describe("scrubForClients (the status tool)", () => {
  it("removes known secrets, credential assignments and long token-like runs, and cuts to 300 characters", () => {
    const shown = scrubForClients(
      'upstream said {"api_key":"k-99x", password=hunter22; token: 1f3a9c5e7b2d4f6a8c0e1f3a9c5e7b2d} for my-known-secret',
      ["my-known-secret"],
    );
    expect(shown).toBe(
      'upstream said {"api_key":"[redacted]", password=[redacted]; token: [redacted]} for [redacted]',
    );
    expect(scrubForClients("trello 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef x")).toBe(
      "trello [redacted] x",
    );
    expect(scrubForClients("e".repeat(1_000))).toHaveLength(300);
  });

  it("keeps what an operator needs to act on", () => {
    const text = "MCP error -32603: github: create_issue failed after 3 attempts: HTTP 404 Not Found";
    expect(scrubForClients(text)).toBe(text);
  });
});
