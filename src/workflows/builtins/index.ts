import type { WorkflowInput } from "../schema.js";
import { githubIssueToTrelloCard } from "./githubIssueToTrelloCard.js";
import { postmanCollectionItemToMemory, postmanCollectionToMemory } from "./postmanCollectionToMemory.js";
import { rememberGithubRepository } from "./rememberGithubRepository.js";
import { triageGithubIssues } from "./triageGithubIssues.js";
import {
  githubIssueToTrelloCardRemote,
  rememberGithubRepositoryRemote,
  triageGithubIssuesRemote,
} from "./githubRemote.js";

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Workflows shipped with autonomous-mcp. Each is served when every tool it names is in the catalog
 * (default prefixes: github_, trello_, memory_, postman_) and its BUILTIN_REQUIRES tool is too; otherwise
 * its fallback (BUILTIN_FALLBACKS) is tried, else it is left out silently. A workflow of the same name in
 * servers.config.json replaces the shipped one; `builtinWorkflows: false` turns them all off.
 * docs/workflows.md ("Shipped workflows") describes each. The GitHub ones are written for GitHub's own
 * server (the shipped config's remote entry).
 */
export const BUILTIN_WORKFLOWS: Readonly<Record<string, unknown>> = deepFreeze({
  github_issue_to_trello_card: githubIssueToTrelloCardRemote,
  triage_github_issues: triageGithubIssuesRemote,
  postman_collection_to_memory: postmanCollectionToMemory,
  postman_collection_item_to_memory: postmanCollectionItemToMemory,
  remember_github_repository: rememberGithubRepositoryRemote,
} satisfies Record<string, WorkflowInput>);

/**
 * A tool that tells which server a shipped variant is written for, when tool names alone cannot: both
 * GitHub servers have `list_issues` and `search_repositories`, with different arguments and results.
 * `issue_read` exists only on GitHub's own server, `get_issue` only on the archived one.
 */
export const BUILTIN_REQUIRES: Readonly<Record<string, string>> = Object.freeze({
  github_issue_to_trello_card: "github_issue_read",
  triage_github_issues: "github_issue_read",
  remember_github_repository: "github_issue_read",
});

/**
 * Variants served instead of a shipped workflow whose own variant does not fit the catalog: the GitHub
 * workflows for the archived `@modelcontextprotocol/server-github` (the offline alternative in
 * docs/integrations/github.md), each served when `requires` is in the catalog.
 */
export const BUILTIN_FALLBACKS: Readonly<
  Record<string, { readonly requires: string; readonly definition: unknown }>
> = deepFreeze({
  github_issue_to_trello_card: { requires: "github_get_issue", definition: githubIssueToTrelloCard },
  triage_github_issues: { requires: "github_get_issue", definition: triageGithubIssues },
  remember_github_repository: { requires: "github_get_issue", definition: rememberGithubRepository },
} satisfies Record<string, { requires: string; definition: WorkflowInput }>);

/**
 * Shipped workflows that exist only as a step of another one: served only when that one is (a
 * memory-only user should not see a postman_… tool).
 */
export const BUILTIN_HELPERS: Readonly<Record<string, string>> = Object.freeze({
  postman_collection_item_to_memory: "postman_collection_to_memory",
});
