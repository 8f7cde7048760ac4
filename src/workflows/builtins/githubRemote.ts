import type { WorkflowInput } from "../schema.js";
import { GITHUB_REPOSITORY_PROPERTIES } from "./inputs.js";

/**
 * The shipped GitHub workflows for GitHub's own MCP server (github/github-mcp-server, the remote server at
 * https://api.githubcopilot.com/mcp/ that the shipped config offers). Its tools differ from the archived
 * `@modelcontextprotocol/server-github` in names and shapes (pkg/github/__toolsnaps__ of its repository):
 * `issue_read` with `method: "get"` replaced `get_issue`; `list_issues` takes `state` OPEN/CLOSED (absent =
 * both), `orderBy` + `direction` ASC/DESC and `perPage`, and answers `{ issues, pageInfo, totalCount }`
 * whose items (GraphQL) carry no `html_url`. The archived server's variants (same names) are the fallbacks:
 * the host serves whichever variant's tools are all in the catalog (builtins/index.ts).
 */

const ISSUE_URL = "https://github.com/{{input.owner}}/{{input.repo}}/issues/{{item.number}}";

export const githubIssueToTrelloCardRemote: WorkflowInput = {
  description:
    "Copy one GitHub issue to a new Trello card and remember the link in the knowledge graph. " +
    "Reads the issue (github_issue_read, method get), adds a card to the given Trello list (name = issue " +
    "title, description = issue URL), then records the issue and the card as memory entities " +
    "(`owner/repo#N`, type github_issue; the card's short URL, type trello_card) with an observation " +
    "`Trello card: <url>` on the issue and the relation issue -is_tracked_by-> card. " +
    "If recording in memory fails, the new card is archived again. " +
    "Needs the github, trello and memory servers. Returns the card's id and URL and the issue URL.",
  input: {
    type: "object",
    properties: {
      ...GITHUB_REPOSITORY_PROPERTIES,
      issue_number: { type: "integer", minimum: 1, description: "The issue number." },
      list_id: {
        type: "string",
        minLength: 1,
        description: "Id of the Trello list that gets the card (trello_get_lists lists a board's lists).",
      },
    },
    required: ["owner", "repo", "issue_number", "list_id"],
    additionalProperties: false,
  },
  steps: [
    {
      id: "issue",
      tool: "github_issue_read",
      args: {
        method: "get",
        owner: "{{input.owner}}",
        repo: "{{input.repo}}",
        issue_number: "{{input.issue_number}}",
      },
    },
    {
      id: "card",
      tool: "trello_add_card_to_list",
      args: {
        listId: "{{input.list_id}}",
        name: "{{steps.issue.result.title}}",
        // GitHub's server leaves out an empty body (omitempty): only fields that are always there are used.
        description: "{{steps.issue.result.html_url}}",
      },
      compensate: { tool: "trello_archive_card", args: { cardId: "{{steps.card.result.id}}" } },
    },
    {
      id: "remember",
      tool: "memory_create_entities",
      args: {
        entities: [
          {
            name: "{{input.owner}}/{{input.repo}}#{{input.issue_number}}",
            entityType: "github_issue",
            observations: [
              "title: {{steps.issue.result.title}}",
              "url: {{steps.issue.result.html_url}}",
              "state: {{steps.issue.result.state}}",
            ],
          },
          {
            name: "{{steps.card.result.shortUrl}}",
            entityType: "trello_card",
            observations: [
              "name: {{steps.card.result.name}}",
              "card id: {{steps.card.result.id}}",
              "url: {{steps.card.result.url}}",
              "list id: {{input.list_id}}",
            ],
          },
        ],
      },
    },
    {
      id: "link",
      tool: "memory_add_observations",
      dependsOn: ["remember"],
      args: {
        observations: [
          {
            entityName: "{{input.owner}}/{{input.repo}}#{{input.issue_number}}",
            contents: ["Trello card: {{steps.card.result.url}}"],
          },
        ],
      },
    },
    {
      id: "relate",
      tool: "memory_create_relations",
      dependsOn: ["link"],
      args: {
        relations: [
          {
            from: "{{input.owner}}/{{input.repo}}#{{input.issue_number}}",
            to: "{{steps.card.result.shortUrl}}",
            relationType: "is_tracked_by",
          },
        ],
      },
    },
  ],
  output: {
    issue_url: "{{steps.issue.result.html_url}}",
    card: {
      id: "{{steps.card.result.id}}",
      url: "{{steps.card.result.url}}",
      short_url: "{{steps.card.result.shortUrl}}",
      name: "{{steps.card.result.name}}",
    },
    memory_entity: "{{input.owner}}/{{input.repo}}#{{input.issue_number}}",
  },
};

export const triageGithubIssuesRemote: WorkflowInput = {
  description:
    "Triage a repository's open GitHub issues onto a Trello list. Lists the open issues " +
    "(github_list_issues, newest first; only those carrying one of `labels` when given; at most `limit`, " +
    "default 10), adds one Trello card per issue to the list (name = issue title, description = issue URL; " +
    "one at a time, in order), then records a summary entity `Trello triage of owner/repo` (type " +
    "triage_summary) in the knowledge graph with one observation per card. If a later step fails, every " +
    "card created by this run is archived again. Needs the github, trello and memory servers. Returns the " +
    "number of issues and the created cards (Trello card objects: id, url, name, ...).",
  input: {
    type: "object",
    properties: {
      ...GITHUB_REPOSITORY_PROPERTIES,
      list_id: {
        type: "string",
        minLength: 1,
        description: "Id of the Trello list that gets the cards (trello_get_lists lists a board's lists).",
      },
      labels: {
        type: "array",
        items: { type: "string", minLength: 1 },
        default: [],
        description: 'Only issues with one of these labels (e.g. ["bug"]). Default []: every open issue.',
      },
      limit: {
        type: "integer",
        minimum: 1,
        maximum: 30,
        default: 10,
        description: "Most issues to copy (1..30). Default 10.",
      },
    },
    required: ["owner", "repo", "list_id"],
    additionalProperties: false,
  },
  steps: [
    {
      id: "issues",
      tool: "github_list_issues",
      // GitHub's server reads an empty `labels` as "no label filter".
      args: {
        owner: "{{input.owner}}",
        repo: "{{input.repo}}",
        state: "OPEN",
        labels: "{{input.labels}}",
        orderBy: "CREATED_AT",
        direction: "DESC",
        perPage: "{{input.limit}}",
      },
    },
    {
      id: "cards",
      tool: "trello_add_card_to_list",
      forEach: "{{steps.issues.result.issues}}",
      forEachConcurrency: 1,
      args: {
        listId: "{{input.list_id}}",
        name: "{{item.title}}",
        description: ISSUE_URL,
      },
      compensate: { tool: "trello_archive_card", args: { cardId: "{{steps.cards.result.id}}" } },
    },
    {
      id: "summary",
      tool: "memory_create_entities",
      args: {
        entities: [
          {
            name: "Trello triage of {{input.owner}}/{{input.repo}}",
            entityType: "triage_summary",
            observations: [
              "open issues of {{input.owner}}/{{input.repo}} copied to Trello list {{input.list_id}}",
            ],
          },
        ],
      },
      dependsOn: ["cards"],
    },
    {
      id: "summary_cards",
      tool: "memory_add_observations",
      forEach: "{{steps.cards.result}}",
      forEachConcurrency: 1,
      dependsOn: ["summary"],
      args: {
        observations: [
          {
            entityName: "Trello triage of {{input.owner}}/{{input.repo}}",
            contents: ["card {{item.url}}: {{item.name}}"],
          },
        ],
      },
    },
  ],
  output: {
    issues: "{{steps.issues.result.issues.length}}",
    cards: "{{steps.cards.result}}",
    summary_entity: "Trello triage of {{input.owner}}/{{input.repo}}",
  },
};

export const rememberGithubRepositoryRemote: WorkflowInput = {
  description:
    "Remember a GitHub repository and its recently updated issues in the knowledge graph. Looks the " +
    "repository up (github_search_repositories with `repo:owner/repo`) and lists its most recently updated " +
    "issues, open and closed (github_list_issues, at most `limit`, default 10). Creates the entity " +
    '"owner/repo" (type github_repository: full name, URL, default branch), one entity "owner/repo#N" ' +
    "per issue (type github_issue: title, state, URL) and the relations issue -belongs_to-> repository. " +
    "Existing entities are kept as they are. Fails when the repository is not found. Needs the github and " +
    "memory servers. Returns the repository's URL and the number of issues recorded.",
  input: {
    type: "object",
    properties: {
      ...GITHUB_REPOSITORY_PROPERTIES,
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
        orderBy: "UPDATED_AT",
        direction: "DESC",
        perPage: "{{input.limit}}",
      },
    },
    {
      id: "repository_entity",
      tool: "memory_create_entities",
      args: {
        entities: [
          {
            name: "{{input.owner}}/{{input.repo}}",
            entityType: "github_repository",
            observations: [
              "full name: {{steps.repository.result.items[0].full_name}}",
              "url: {{steps.repository.result.items[0].html_url}}",
              "default branch: {{steps.repository.result.items[0].default_branch}}",
            ],
          },
        ],
      },
    },
    {
      id: "issue_entities",
      tool: "memory_create_entities",
      forEach: "{{steps.issues.result.issues}}",
      forEachConcurrency: 1,
      dependsOn: ["repository_entity"],
      args: {
        entities: [
          {
            name: "{{input.owner}}/{{input.repo}}#{{item.number}}",
            entityType: "github_issue",
            observations: ["title: {{item.title}}", "state: {{item.state}}", `url: ${ISSUE_URL}`],
          },
        ],
      },
    },
    {
      id: "relations",
      tool: "memory_create_relations",
      forEach: "{{steps.issues.result.issues}}",
      forEachConcurrency: 1,
      dependsOn: ["issue_entities"],
      args: {
        relations: [
          {
            from: "{{input.owner}}/{{input.repo}}#{{item.number}}",
            to: "{{input.owner}}/{{input.repo}}",
            relationType: "belongs_to",
          },
        ],
      },
    },
  ],
  output: {
    repository: "{{input.owner}}/{{input.repo}}",
    url: "{{steps.repository.result.items[0].html_url}}",
    issues: "{{steps.issues.result.issues.length}}",
  },
};
