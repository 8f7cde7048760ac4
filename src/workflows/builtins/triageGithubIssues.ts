import type { WorkflowInput } from "../schema.js";
import { GITHUB_REPOSITORY_PROPERTIES } from "./inputs.js";

/**
 * `triage_github_issues`: open issues of a repository (optionally with one label) → one Trello card each →
 * one summary entity in the knowledge graph listing the cards. Every card is archived again when a later
 * step fails.
 */
export const triageGithubIssues: WorkflowInput = {
  description:
    "Triage a repository's open GitHub issues onto a Trello list. Lists the open issues " +
    "(github_list_issues, newest first; only those carrying `label` when given; at most `limit`, default 10 — " +
    "GitHub's issues endpoint includes open pull requests), adds one Trello card per issue to the list " +
    "(name = issue title, description = issue URL + body; one at a time, in order), then records a summary " +
    "entity `Trello triage of owner/repo` (type triage_summary) in the knowledge graph with one observation " +
    "per card. If a later step fails, every card created by this run is archived again. " +
    "Needs the github, trello and memory servers. Returns the number of issues and the created cards (Trello card objects: id, url, name, ...).",
  input: {
    type: "object",
    properties: {
      ...GITHUB_REPOSITORY_PROPERTIES,
      list_id: {
        type: "string",
        minLength: 1,
        description: "Id of the Trello list that gets the cards (trello_get_lists lists a board's lists).",
      },
      label: {
        type: "string",
        default: "",
        description: 'Only issues with this label (e.g. "bug"). Default "": every open issue.',
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
      // An empty label gives `labels=` (no filter).
      args: {
        owner: "{{input.owner}}",
        repo: "{{input.repo}}",
        state: "open",
        labels: ["{{input.label}}"],
        sort: "created",
        direction: "desc",
        per_page: "{{input.limit}}",
      },
    },
    {
      id: "cards",
      tool: "trello_add_card_to_list",
      forEach: "{{steps.issues.result}}",
      // One at a time: cards keep the issues' order, and Trello's rate limit is respected.
      forEachConcurrency: 1,
      args: {
        listId: "{{input.list_id}}",
        name: "{{item.title}}",
        description: "{{item.html_url}}\n\n{{item.body}}",
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
      // server-memory's writes are not serialized: one at a time.
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
    issues: "{{steps.issues.result.length}}",
    cards: "{{steps.cards.result}}",
    summary_entity: "Trello triage of {{input.owner}}/{{input.repo}}",
  },
};
