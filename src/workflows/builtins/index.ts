import type { WorkflowInput } from "../schema.js";
import { githubIssueToTrelloCard } from "./githubIssueToTrelloCard.js";
import { postmanCollectionItemToMemory, postmanCollectionToMemory } from "./postmanCollectionToMemory.js";
import { rememberGithubRepository } from "./rememberGithubRepository.js";
import { triageGithubIssues } from "./triageGithubIssues.js";

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Workflows shipped with autonomous-mcp. Each is served when every tool it names is in the catalog
 * (default prefixes: github_, trello_, memory_, postman_); otherwise it is left out silently.
 * A workflow of the same name in servers.config.json replaces the shipped one; `builtinWorkflows: false`
 * turns them all off. docs/workflows.md ("Shipped workflows") describes each.
 */
export const BUILTIN_WORKFLOWS: Readonly<Record<string, unknown>> = deepFreeze({
  github_issue_to_trello_card: githubIssueToTrelloCard,
  triage_github_issues: triageGithubIssues,
  postman_collection_to_memory: postmanCollectionToMemory,
  postman_collection_item_to_memory: postmanCollectionItemToMemory,
  remember_github_repository: rememberGithubRepository,
} satisfies Record<string, WorkflowInput>);

/**
 * Shipped workflows that exist only as a step of another one: served only when that one is (a
 * memory-only user should not see a postman_… tool).
 */
export const BUILTIN_HELPERS: Readonly<Record<string, string>> = Object.freeze({
  postman_collection_item_to_memory: "postman_collection_to_memory",
});
