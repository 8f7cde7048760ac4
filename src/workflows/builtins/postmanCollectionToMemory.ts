import type { WorkflowInput } from "../schema.js";

const ITEM_ENTITY = "{{input.collection}} / {{input.item.name}}";

/**
 * `postman_collection_item_to_memory`: one entry of a collection map (postman_getCollection's `itemRefs`) →
 * memory. A request becomes a `postman_request` entity; a folder becomes a `postman_folder` entity plus one
 * entity per direct child. The template language has no recursion or mapping, so this is the per-item
 * body of postman_collection_to_memory's forEach.
 */
export const postmanCollectionItemToMemory: WorkflowInput = {
  description:
    "Record one item of a Postman collection map in the knowledge graph (used by postman_collection_to_memory " +
    "for each top-level item). `item` is an entry of postman_getCollection's `collection.itemRefs` " +
    "({name, id, itemRefs?}); `collection` is the name of the collection's entity. A request becomes the " +
    'entity "<collection> / <name>" (type postman_request); a folder becomes "<collection> / <name>" (type ' +
    'postman_folder) and each of its direct children "<collection> / <folder> / <name>" (type postman_request; ' +
    "a sub-folder's own contents are not expanded). Adds the relations collection -contains-> item and " +
    "folder -contains-> child. Needs the memory server.",
  input: {
    type: "object",
    properties: {
      collection: { type: "string", minLength: 1, description: "Name of the collection's memory entity." },
      item: {
        type: "object",
        description: "One entry of collection.itemRefs from postman_getCollection: {name, id, itemRefs?}.",
        properties: {
          name: { type: "string", description: "The item's name." },
          id: { type: "string", description: "The item's id (uid)." },
          itemRefs: {
            type: "array",
            description: "Present on folders: their children.",
            items: { type: "object", properties: { name: { type: "string" }, id: { type: "string" } } },
          },
        },
        required: ["name", "id"],
      },
    },
    required: ["collection", "item"],
  },
  steps: [
    {
      id: "request",
      tool: "memory_create_entities",
      when: { not: { exists: "{{input.item.itemRefs}}" } },
      args: {
        entities: [
          {
            name: ITEM_ENTITY,
            entityType: "postman_request",
            observations: ["Postman request id: {{input.item.id}}", "in collection {{input.collection}}"],
          },
        ],
      },
    },
    {
      id: "request_relation",
      tool: "memory_create_relations",
      dependsOn: ["request"],
      args: { relations: [{ from: "{{input.collection}}", to: ITEM_ENTITY, relationType: "contains" }] },
    },
    {
      id: "folder",
      tool: "memory_create_entities",
      when: { exists: "{{input.item.itemRefs}}" },
      args: {
        entities: [
          {
            name: ITEM_ENTITY,
            entityType: "postman_folder",
            observations: ["Postman folder id: {{input.item.id}}", "in collection {{input.collection}}"],
          },
        ],
      },
    },
    {
      id: "folder_relation",
      tool: "memory_create_relations",
      dependsOn: ["folder"],
      args: { relations: [{ from: "{{input.collection}}", to: ITEM_ENTITY, relationType: "contains" }] },
    },
    {
      // server-memory's writes are not serialized: one at a time.
      id: "children",
      tool: "memory_create_entities",
      forEach: "{{input.item.itemRefs}}",
      forEachConcurrency: 1,
      dependsOn: ["folder_relation"],
      args: {
        entities: [
          {
            name: "{{input.collection}} / {{input.item.name}} / {{item.name}}",
            entityType: "postman_request",
            observations: [
              "Postman request id: {{item.id}}",
              "in folder {{input.item.name}} of collection {{input.collection}}",
            ],
          },
        ],
      },
    },
    {
      id: "children_relations",
      tool: "memory_create_relations",
      forEach: "{{input.item.itemRefs}}",
      forEachConcurrency: 1,
      dependsOn: ["children"],
      args: {
        relations: [
          {
            from: ITEM_ENTITY,
            to: "{{input.collection}} / {{input.item.name}} / {{item.name}}",
            relationType: "contains",
          },
        ],
      },
    },
  ],
  output: { entity: ITEM_ENTITY },
};

/**
 * `postman_collection_to_memory`: a Postman collection → memory: one entity for the collection, one per
 * request and folder (via postman_collection_item_to_memory), relations collection → items.
 */
export const postmanCollectionToMemory: WorkflowInput = {
  description:
    "Record a Postman collection's structure in the knowledge graph. Reads the collection map " +
    "(postman_getCollection: names and ids of folders and requests), creates the entity " +
    '"<collection name>" (type postman_collection), then for each top-level item runs ' +
    'postman_collection_item_to_memory: requests become entities "<collection> / <request>" (type ' +
    "postman_request), folders become postman_folder entities with their direct children as requests, linked " +
    "by `contains` relations (collection -> item, folder -> request). Existing entities are kept as they are. " +
    "Needs the postman and memory servers. Returns the collection's name and one result per top-level item (its entity name and trace).",
  input: {
    type: "object",
    properties: {
      collection_id: {
        type: "string",
        minLength: 1,
        description:
          "The collection's uid, <OWNER_ID>-<UUID> (e.g. 12345-33823532-ab9e-41c9-b6fd-12d0fd459b8b); postman_getCollections lists them.",
      },
    },
    required: ["collection_id"],
    additionalProperties: false,
  },
  steps: [
    {
      id: "collection",
      tool: "postman_getCollection",
      args: { collectionId: "{{input.collection_id}}" },
    },
    {
      id: "collection_entity",
      tool: "memory_create_entities",
      args: {
        entities: [
          {
            name: "{{steps.collection.result.collection.info.name}}",
            entityType: "postman_collection",
            observations: ["Postman collection id: {{input.collection_id}}"],
          },
        ],
      },
    },
    {
      // An empty collection has no itemRefs: nothing more to record.
      id: "items",
      tool: "postman_collection_item_to_memory",
      when: { exists: "{{steps.collection.result.collection.itemRefs}}" },
      forEach: "{{steps.collection.result.collection.itemRefs}}",
      forEachConcurrency: 1,
      dependsOn: ["collection_entity"],
      args: { collection: "{{steps.collection.result.collection.info.name}}", item: "{{item}}" },
    },
  ],
  output: {
    collection: "{{steps.collection.result.collection.info.name}}",
    collection_id: "{{input.collection_id}}",
    // One postman_collection_item_to_memory result per top-level item (null for an empty collection).
    items: "{{steps.items.result}}",
  },
};
