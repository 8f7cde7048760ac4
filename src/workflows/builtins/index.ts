/**
 * Workflows shipped with autonomous-mcp. Each is served when every tool it names is in the catalog
 * (default prefixes: github_, trello_, memory_, postman_); otherwise it is left out silently.
 * A workflow of the same name in servers.config.json replaces the shipped one; `builtinWorkflows: false`
 * turns them all off.
 */
export const BUILTIN_WORKFLOWS: Readonly<Record<string, unknown>> = {};
