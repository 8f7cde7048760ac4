import type { WorkflowInput } from "../schema.js";
import { GITHUB_REPOSITORY_PROPERTIES } from "./inputs.js";

const REPO_ENTITY = "{{input.owner}}/{{input.repo}}";
/** Same form as github_issue_to_trello_card's issue entities. */
const ISSUE_ENTITY = "{{input.owner}}/{{input.repo}}#{{item.number}}";

/**
 * `remember_github_repository`: a repository and its recently updated issues → memory entities, each issue
 * related to the repository.
 */
export const rememberGithubRepository: WorkflowInput = {
  description:
    "Remember a GitHub repository and its recently updated issues in the knowledge graph. Looks the " +
    "repository up (github_search_repositories with `repo:owner/repo`) and lists its most recently updated " +
    "issues (github_list_issues, state `all` by default, at most `limit`, default 10; GitHub's issues endpoint " +
    'includes pull requests). Creates the entity "owner/repo" (type github_repository: description, URL, ' +
    'default branch), one entity "owner/repo#N" per issue (type github_issue: title, state, URL) and the ' +
    "relations issue -belongs_to-> repository. Existing entities are kept as they are. Fails when the " +
    "repository is not found. Needs the github and memory servers. Returns the repository's URL and the " +
    "number of issues recorded.",
  input: {
    type: "object",
    properties: {
      ...GITHUB_REPOSITORY_PROPERTIES,
      state: {
        type: "string",
        enum: ["open", "closed", "all"],
        default: "all",
        description: 'Which issues: "open", "closed" or "all" (default).',
      },
      limit: {
        type: "integer",
        minimum: 1,
        maximum: 50,
        default: 10,
        description: "Most issues to record, most recently updated first (1..50). Default 10.",
      },
    },
    required: ["owner", "repo"],
    additionalProperties: false,
  },
  steps: [
    {
      id: "repository",
      tool: "github_search_repositories",
      args: { query: "repo:{{input.owner}}/{{input.repo}}", perPage: 1 },
    },
    {
      id: "issues",
      tool: "github_list_issues",
      args: {
        owner: "{{input.owner}}",
        repo: "{{input.repo}}",
        state: "{{input.state}}",
        sort: "updated",
        direction: "desc",
        per_page: "{{input.limit}}",
      },
    },
    {
      // A repository that is not found has no items[0]: the step fails naming the template.
      id: "repository_entity",
      tool: "memory_create_entities",
      args: {
        entities: [
          {
            name: REPO_ENTITY,
            entityType: "github_repository",
            observations: [
              "full name: {{steps.repository.result.items[0].full_name}}",
              "description: {{steps.repository.result.items[0].description}}",
              "url: {{steps.repository.result.items[0].html_url}}",
              "default branch: {{steps.repository.result.items[0].default_branch}}",
            ],
          },
        ],
      },
    },
    {
      // server-memory's writes are not serialized: one at a time, after the repository entity.
      id: "issue_entities",
      tool: "memory_create_entities",
      forEach: "{{steps.issues.result}}",
      forEachConcurrency: 1,
      dependsOn: ["repository_entity"],
      args: {
        entities: [
          {
            name: ISSUE_ENTITY,
            entityType: "github_issue",
            observations: ["title: {{item.title}}", "state: {{item.state}}", "url: {{item.html_url}}"],
          },
        ],
      },
    },
    {
      id: "relations",
      tool: "memory_create_relations",
      forEach: "{{steps.issues.result}}",
      forEachConcurrency: 1,
      dependsOn: ["issue_entities"],
      args: { relations: [{ from: ISSUE_ENTITY, to: REPO_ENTITY, relationType: "belongs_to" }] },
    },
  ],
  output: {
    repository: REPO_ENTITY,
    url: "{{steps.repository.result.items[0].html_url}}",
    issues: "{{steps.issues.result.length}}",
  },
};
