/**
 * A message that cannot be turned into JSON (nested too deep for JSON.stringify's recursion, a BigInt,
 * a cycle). It says nothing about the link it was meant for: classify.ts never treats it as a transport
 * failure (no retry, no breaker count).
 */
export class UnserializableMessage extends Error {
  constructor(cause: unknown) {
    super(
      `the request could not be serialised to JSON (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause },
    );
    this.name = "UnserializableMessage";
  }
}

/** JSON.stringify, failing with UnserializableMessage instead of whatever JSON.stringify throws. */
export function serialize(message: unknown): string {
  try {
    return JSON.stringify(message);
  } catch (error) {
    throw new UnserializableMessage(error);
  }
}
