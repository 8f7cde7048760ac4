/**
 * Downstream `instructions` (the initialize / server/discover field that tells a model how to use a server),
 * merged into the aggregator's own: one section per server, headed by its name, in name order. Each
 * server's text is bounded (a hostile or careless server cannot flood every client's context) and the
 * whole is bounded too; whatever is cut is said so in the text itself.
 */

/** The most characters one server's instructions may add (longer ones are cut, with a note). */
export const MAX_SERVER_INSTRUCTIONS = 4_096;
/** The most characters the merged instructions may have (servers past it are named, not included). */
export const MAX_MERGED_INSTRUCTIONS = 16_384;

export interface ServerInstructions {
  /** The server's config name. */
  readonly name: string;
  readonly instructions: string | undefined;
}

/** Control characters other than tab and newline (a terminal escape in instructions helps nobody). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

function section(server: string, text: string): string {
  const clean = text.replace(/\r\n?/g, "\n").replace(CONTROL, "").trim();
  const body =
    clean.length <= MAX_SERVER_INSTRUCTIONS
      ? clean
      : `${clean.slice(0, MAX_SERVER_INSTRUCTIONS)}\n[autonomous-mcp: ${server}'s instructions were cut at ${MAX_SERVER_INSTRUCTIONS} of ${clean.length} characters]`;
  return `## ${server}\n${body}`;
}

/**
 * The aggregator's instructions: a section `## <server>` per server with non-empty instructions, by server
 * name. Undefined when there is nothing to say.
 */
export function mergeInstructions(servers: readonly ServerInstructions[]): string | undefined {
  const sorted = [...servers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parts: string[] = [];
  let size = 0;
  const left: string[] = [];
  for (const { name: server, instructions } of sorted) {
    if (instructions === undefined || instructions.trim() === "") continue;
    const s = section(server, instructions);
    if (size + s.length + 2 > MAX_MERGED_INSTRUCTIONS) {
      left.push(server);
      continue;
    }
    parts.push(s);
    size += s.length + 2;
  }
  if (left.length > 0)
    parts.push(
      `[autonomous-mcp: the instructions of ${left.join(", ")} were left out: the merged instructions are limited to ${MAX_MERGED_INSTRUCTIONS} characters]`,
    );
  return parts.length === 0 ? undefined : parts.join("\n\n");
}
