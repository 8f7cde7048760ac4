import { create, destroy, hints, read, update, type SafetyProfile } from "./types.js";

/**
 * `@delorenj/mcp-server-trello` (1.8.1): 57 tools, titles only, no annotations. API failures come back
 * as isError results ("Error: MCP error -32603: Trello API Error: 404 Request failed with status code
 * 404"). `set_active_board` / `set_active_workspace` write `$HOME/.trello-mcp/config.json`.
 */
export const trelloProfile: SafetyProfile = {
  package: "@delorenj/mcp-server-trello",
  tools: {
    // ---- boards and workspaces
    list_boards: read(30_000),
    list_workspaces: read(30_000),
    list_boards_in_workspace: read(30_000),
    create_board: create(),
    // Local state (the server's config file) read/written; cheap and expected fresh.
    set_active_board: update(),
    set_active_workspace: update(),
    get_active_board_info: read(),
    get_board_members: read(30_000),
    get_board_labels: read(30_000),
    get_board_custom_fields: read(30_000),
    get_recent_activity: read(10_000),

    // ---- lists
    get_lists: read(30_000),
    add_list_to_board: create(),
    archive_list: destroy(),
    // Can archive the list (`closed: true`).
    update_list: hints({ readOnlyHint: false, idempotentHint: true, destructiveHint: true }),
    update_list_position: update(),
    watch_list: update(),

    // ---- cards
    get_cards_by_list_id: read(10_000),
    get_my_cards: read(15_000),
    get_card: read(10_000),
    get_card_history: read(10_000),
    add_card_to_list: create(),
    add_cards_to_list: create(),
    copy_card: create(),
    update_card_details: update(),
    move_card: update(),
    archive_card: destroy(),
    watch_card: update(),
    update_card_custom_field: update(),
    assign_member_to_card: update(),
    remove_member_from_card: destroy(),

    // ---- attachments
    attach_image_to_card: create(),
    attach_file_to_card: create(),
    attach_data_to_card: create(),
    attach_image_data_to_card: create(),
    // Binary payload: not worth caching.
    download_attachment: read(),

    // ---- comments
    add_comment: create(),
    update_comment: update(),
    delete_comment: destroy(),
    get_card_comments: read(10_000),

    // ---- checklists
    create_checklist: create(),
    copy_checklist: create(),
    get_checklist_items: read(10_000),
    add_checklist_item: create(),
    find_checklist_items_by_description: read(10_000),
    get_acceptance_criteria: read(10_000),
    get_checklist_by_name: read(10_000),
    update_checklist_item: update(),
    delete_checklist_item: destroy(),

    // ---- labels
    create_label: create(),
    update_label: update(),
    delete_label: destroy(),

    // ---- health (diagnostics: always fresh)
    get_health: read(),
    get_health_detailed: read(),
    get_health_metadata: read(),
    get_health_performance: read(),
    // May set the active board (local config) when none is set; repeating changes nothing more.
    perform_system_repair: update(),
  },
};
