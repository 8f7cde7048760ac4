import { create, destroy, hints, read, update, type SafetyProfile } from "./types.js";

/**
 * `@modelcontextprotocol/server-github` (2025.4.8): 26 tools, none annotated. Every failure (bad
 * arguments, HTTP 404, network) comes back as a JSON-RPC -32603 error, not an isError result.
 */
export const githubProfile: SafetyProfile = {
  package: "@modelcontextprotocol/server-github",
  tools: {
    // ---- repositories and files
    search_repositories: read(30_000),
    create_repository: create(),
    // The API returns the existing fork when one exists: repeating it changes nothing.
    fork_repository: hints({ readOnlyHint: false, idempotentHint: true, destructiveHint: false }),
    get_file_contents: read(15_000),
    // Each call is a new commit (history keeps the old content); not safe to repeat (new commit / 409).
    create_or_update_file: create(),
    // Moves the branch with `force: true`: may drop commits from the branch.
    push_files: hints({ readOnlyHint: false, idempotentHint: false, destructiveHint: true }),
    create_branch: create(),
    list_commits: read(15_000),

    // ---- issues
    create_issue: create(),
    get_issue: read(15_000),
    list_issues: read(15_000),
    update_issue: update(),
    add_issue_comment: create(),

    // ---- search
    search_code: read(30_000),
    search_issues: read(30_000),
    search_users: read(30_000),

    // ---- pull requests
    create_pull_request: create(),
    get_pull_request: read(15_000),
    list_pull_requests: read(15_000),
    create_pull_request_review: create(),
    // Changes the base branch for good; a repeat finds the pull request already merged.
    merge_pull_request: destroy(),
    get_pull_request_files: read(30_000),
    // CI status is polled for changes: never cached.
    get_pull_request_status: read(),
    // Merges the base into the head: a new merge commit whenever the base moved.
    update_pull_request_branch: create(),
    get_pull_request_comments: read(10_000),
    get_pull_request_reviews: read(10_000),
  },
};
