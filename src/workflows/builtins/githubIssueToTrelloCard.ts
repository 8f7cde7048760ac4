import type { WorkflowInput } from "../schema.js";
import { GITHUB_REPOSITORY_PROPERTIES } from "./inputs.js";

/** Entity name of an issue in the knowledge graph (same form in every shipped workflow). */
const ISSUE_ENTITY = "{{input.owner}}/{{input.repo}}#{{input.issue_number}}";

/**
 * `github_issue_to_trello_card`: one GitHub issue → one Trello card, remembered in the knowledge graph.
 * The card is archived again when a later step fails (the memory steps are last: their failure undoes it).
 */
export const githubIssueToTrelloCard: WorkflowInput = {
  description:
    "Copy one GitHub issue to a new Trello card and remember the link in the knowledge graph. " +
    "Reads the issue (github_get_issue), adds a card to the given Trello list (name = issue title, " +
    "description = issue URL + issue body), then records the issue and the card as memory entities " +
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
      tool: "github_get_issue",
      args: { owner: "{{input.owner}}", repo: "{{input.repo}}", issue_number: "{{input.issue_number}}" },
    },
    {
      id: "card",
      tool: "trello_add_card_to_list",
      args: {
        listId: "{{input.list_id}}",
        name: "{{steps.issue.result.title}}",
        description: "{{steps.issue.result.html_url}}\n\n{{steps.issue.result.body}}",
      },
      compensate: { tool: "trello_archive_card", args: { cardId: "{{steps.card.result.id}}" } },
    },
    {
      id: "remember",
      tool: "memory_create_entities",
      args: {
        entities: [
          {
            name: ISSUE_ENTITY,
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
      // create_entities leaves an existing entity untouched: the link is added as an observation too.
      id: "link",
      tool: "memory_add_observations",
      dependsOn: ["remember"],
      args: {
        observations: [{ entityName: ISSUE_ENTITY, contents: ["Trello card: {{steps.card.result.url}}"] }],
      },
    },
    {
      id: "relate",
      tool: "memory_create_relations",
      dependsOn: ["link"],
      args: {
        relations: [
          { from: ISSUE_ENTITY, to: "{{steps.card.result.shortUrl}}", relationType: "is_tracked_by" },
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
    memory_entity: ISSUE_ENTITY,
  },
};
