import { createScanner, printParseErrorCode, SyntaxKind, visit, type JSONPath } from "jsonc-parser";
import { formatPath } from "./problems.js";

/**
 * The config file's reader: JSON with comments and trailing commas (VS Code's JSONC), through
 * jsonc-parser. Besides the value it reports, by JSON path and position, what JSON.parse lets pass
 * silently: duplicate keys (the later one would win). Never echoes file content.
 */

/** Objects and arrays nested deeper than this are refused before parsing (the parser recurses). */
export const MAX_JSON_DEPTH = 100;

export interface JsoncResult {
  /** The parsed value; undefined when `syntax` is set. */
  readonly value: unknown;
  /** `invalid JSON at line 3, column 5: expected ':'` (the first syntax error only), or undefined. */
  readonly syntax?: string;
  /** `mcpServers.github: duplicate key (line 9, column 5; first at line 4, column 5)`, in file order. */
  readonly duplicates: readonly string[];
  /**
   * The values a duplicate key replaced (the later one wins in `value`), in file order: checked too, so
   * the problems of an earlier entry are not hidden behind the duplicate-key error.
   */
  readonly shadowed: readonly Shadowed[];
}

/** A value a later duplicate key replaced: where it was and where it started. */
export interface Shadowed {
  readonly path: readonly (string | number)[];
  readonly value: unknown;
  /** `line 4, column 5` */
  readonly at: string;
}

const REASONS: Readonly<Record<string, string>> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a double-quoted property name",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected ',' between items",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: "unexpected text after the end of the document",
  UnexpectedEndOfComment: "unterminated /* comment",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "invalid number",
  InvalidUnicode: "invalid \\u escape",
  InvalidEscapeCharacter: "invalid escape sequence",
  InvalidCharacter: "control character in a string (write it as an escape)",
};

const at = (line: number, character: number): string => `line ${line + 1}, column ${character + 1}`;

/** Position of the first object/array nested deeper than MAX_JSON_DEPTH, or undefined. */
function tooDeep(text: string): string | undefined {
  const scanner = createScanner(text, true);
  let depth = 0;
  for (let token = scanner.scan(); token !== SyntaxKind.EOF; token = scanner.scan()) {
    if (token === SyntaxKind.OpenBraceToken || token === SyntaxKind.OpenBracketToken) {
      depth++;
      if (depth > MAX_JSON_DEPTH)
        return `invalid JSON at ${at(scanner.getTokenStartLine(), scanner.getTokenStartCharacter())}: nested deeper than ${MAX_JSON_DEPTH} levels`;
    } else if (token === SyntaxKind.CloseBraceToken || token === SyntaxKind.CloseBracketToken)
      depth = Math.max(0, depth - 1);
  }
  return undefined;
}

type Container =
  { kind: "object"; value: Record<string, unknown>; key: string } | { kind: "array"; value: unknown[] };

/** Parses JSONC (comments, trailing commas; a leading byte-order mark is ignored). */
export function parseJsonc(input: string): JsoncResult {
  const text = input.replace(/^\uFEFF/, "");
  if (text.trim() === "")
    return { value: undefined, syntax: "invalid JSON: the file is empty", duplicates: [], shadowed: [] };
  const deep = tooDeep(text);
  if (deep !== undefined) return { value: undefined, syntax: deep, duplicates: [], shadowed: [] };

  let syntax: string | undefined;
  const duplicates: string[] = [];
  const shadowed: Shadowed[] = [];
  const stack: Container[] = [];
  const seen: Map<string, string>[] = [];
  let root: unknown;
  const add = (value: unknown): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) root = value;
    else if (top.kind === "array") top.value.push(value);
    // defineProperty: a "__proto__" key is data, as with JSON.parse.
    else
      Object.defineProperty(top.value, top.key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
  };
  visit(
    text,
    {
      onObjectBegin: () => {
        const value: Record<string, unknown> = {};
        add(value);
        stack.push({ kind: "object", value, key: "" });
        seen.push(new Map());
      },
      onObjectProperty: (key, _offset, _length, line, character, pathSupplier: () => JSONPath) => {
        const top = stack[stack.length - 1];
        if (top?.kind === "object") top.key = key;
        const keys = seen[seen.length - 1];
        const first = keys?.get(key);
        const here = at(line, character);
        if (first !== undefined) {
          const path = [...pathSupplier(), key];
          duplicates.push(`${formatPath(path)}: duplicate key (${here}; first at ${first})`);
          if (top?.kind === "object") shadowed.push({ path, value: top.value[key], at: first });
        } else keys?.set(key, here);
      },
      onObjectEnd: () => {
        stack.pop();
        seen.pop();
      },
      onArrayBegin: () => {
        const value: unknown[] = [];
        add(value);
        stack.push({ kind: "array", value });
      },
      onArrayEnd: () => void stack.pop(),
      onLiteralValue: (value: unknown) => add(value),
      onError: (code, _offset, _length, line, character) => {
        syntax ??= `invalid JSON at ${at(line, character)}: ${REASONS[printParseErrorCode(code)] ?? "syntax error"}`;
      },
    },
    { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false },
  );
  if (syntax !== undefined) return { value: undefined, syntax, duplicates, shadowed: [] };
  return { value: root, duplicates, shadowed };
}
