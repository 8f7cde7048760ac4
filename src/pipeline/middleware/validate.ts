import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import formatsPlugin from "ajv-formats";
import type { CallToolResult } from "@modelcontextprotocol/server";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { DEFAULT_MAX_JSON_DEPTH, depthMessage, tooDeep } from "../../jsonrpc/depth.js";
import type { CallContext, Middleware, ToolRoute } from "../types.js";
import { re2Engine, schemaNodes, structuralViolation } from "./schemaBudget.js";

/** Most violations listed in one result; the rest are counted. */
const MAX_LISTED = 20;

/**
 * Validation only: no coercion, no defaults, no removal — arguments are forwarded verbatim.
 * `validateSchema: false` so a `$schema` we have no meta-schema for does not stop compilation;
 * `addUsedSchema: false` so two tools (or two catalog builds) sharing an `$id` do not collide.
 */
const AJV_OPTIONS: Options = {
  allErrors: true,
  // `pattern` / `patternProperties` of a server's schema run on RE2 (linear time), never on JS RegExp.
  code: { regExp: re2Engine((pattern, reason) => unsupportedPattern?.(pattern, reason)) },
  strict: false,
  validateSchema: false,
  addUsedSchema: false,
  validateFormats: true,
  logger: false,
};

/** Where the engine reports a pattern RE2 cannot run; set around each compile (compile is synchronous). */
let unsupportedPattern: ((pattern: string, reason: string) => void) | undefined;

/** Default of maxSchemaNodes (config/defaults.ts holds the same value). */
export const DEFAULT_MAX_SCHEMA_NODES = 250;

type AjvInstance = Pick<Ajv, "compile">;
type Dialect = "07" | "2019" | "2020";

function newAjv(dialect: Dialect): AjvInstance {
  const ajv =
    dialect === "2020"
      ? new Ajv2020(AJV_OPTIONS)
      : dialect === "2019"
        ? new Ajv2019(AJV_OPTIONS)
        : new Ajv(AJV_OPTIONS);
  // ajv-formats is CommonJS with a default export; under NodeNext the default import is the plugin itself.
  (formatsPlugin as unknown as (ajv: unknown) => void)(ajv);
  return ajv;
}

function dialectOf(schema: Readonly<Record<string, unknown>>): Dialect | undefined {
  const id = schema["$schema"];
  if (typeof id !== "string") return undefined;
  if (id.includes("2020-12")) return "2020";
  if (id.includes("2019-09")) return "2019";
  return "07";
}

/** A schema over the node budget: not compiled, only its object shape and top-level `required` keys checked. */
export const OVER_BUDGET = "overBudget";

/**
 * Compiles each route's inputSchema once (WeakMap by route object); `null` = could not compile, pass
 * through; OVER_BUDGET = too large to compile without stalling every other call (maxSchemaNodes).
 */
export class SchemaCompiler {
  private readonly compiled = new WeakMap<ToolRoute, ValidateFunction | null | typeof OVER_BUDGET>();
  private readonly instances = new Map<Dialect, AjvInstance>();

  constructor(private readonly maxSchemaNodes: number = DEFAULT_MAX_SCHEMA_NODES) {}

  /** `log` receives the one warning for a schema that does not compile or is over the budget. */
  validatorFor(route: ToolRoute, log: Logger): ValidateFunction | null | typeof OVER_BUDGET {
    let fn = this.compiled.get(route);
    if (fn === undefined) {
      fn = this.compile(route, log);
      this.compiled.set(route, fn);
    }
    return fn;
  }

  private compile(route: ToolRoute, log: Logger): ValidateFunction | null | typeof OVER_BUDGET {
    const nodes = schemaNodes(route.inputSchema, this.maxSchemaNodes);
    if (nodes > this.maxSchemaNodes) {
      log.warn(
        { server: route.server, tool: route.originalName, limit: this.maxSchemaNodes },
        "inputSchema is over maxSchemaNodes: not compiled; calls to this tool get only the object and required-keys check",
      );
      return OVER_BUDGET;
    }
    const seen = new Set<string>();
    unsupportedPattern = (pattern, reason) => {
      if (seen.has(pattern)) return;
      seen.add(pattern);
      log.warn(
        { server: route.server, tool: route.originalName, pattern: pattern.slice(0, 200), reason },
        "inputSchema pattern is not supported by the linear-time regex engine; it is not checked",
      );
    };
    try {
      return this.compileDialects(route, log);
    } finally {
      unsupportedPattern = undefined;
    }
  }

  private compileDialects(route: ToolRoute, log: Logger): ValidateFunction | null {
    const declared = dialectOf(route.inputSchema);
    // No $schema: MCP 2025-11-25 says 2020-12, but most servers emit draft-07 shapes; try draft-07 first.
    const order: Dialect[] = declared ? [declared] : ["07", "2020"];
    let lastError: unknown;
    for (const dialect of order) {
      try {
        return this.instance(dialect).compile(route.inputSchema);
      } catch (error) {
        lastError = error;
      }
    }
    log.warn(
      { server: route.server, tool: route.originalName, err: errorMessage(lastError) },
      "inputSchema does not compile; calls to this tool pass through unvalidated",
    );
    return null;
  }

  private instance(dialect: Dialect): AjvInstance {
    let ajv = this.instances.get(dialect);
    if (!ajv) {
      ajv = newAjv(dialect);
      this.instances.set(dialect, ajv);
    }
    return ajv;
  }
}

function describe(error: ErrorObject): string {
  const path = error.instancePath === "" ? "(root)" : error.instancePath;
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? error.keyword;
  if (error.keyword === "additionalProperties" && typeof params["additionalProperty"] === "string") {
    message += ` ('${params["additionalProperty"]}')`;
  } else if (error.keyword === "enum" && Array.isArray(params["allowedValues"])) {
    message += ` (${params["allowedValues"].map((v) => JSON.stringify(v)).join(", ")})`;
  }
  return `${path}: ${message}`;
}

/** The text an invalid call gets back: every violating path, deduplicated, at most MAX_LISTED of them. */
export function formatViolations(toolName: string, errors: readonly ErrorObject[]): string {
  const lines = [...new Set(errors.map(describe))];
  const listed = lines.slice(0, MAX_LISTED).join("; ");
  const more = lines.length > MAX_LISTED ? `; and ${lines.length - MAX_LISTED} more` : "";
  return `Invalid arguments for ${toolName}: ${listed}${more}`;
}

export interface ValidateOptions {
  /** Deepest nesting accepted in a call's arguments (maxJsonDepth). */
  readonly maxJsonDepth?: number;
}

function invalidArguments(ctx: CallContext, text: string): CallToolResult {
  ctx.invalid = true;
  return { isError: true, content: [{ type: "text", text }] };
}

/**
 * Arguments against the tool's inputSchema. An invalid call RETURNS an isError result (no downstream I/O)
 * and sets ctx.invalid; a schema we cannot compile is logged once (on ctx.log) and never blocks the tool.
 * Arguments nested deeper than maxJsonDepth are refused first (nothing may walk them recursively later:
 * ajv, JSON.stringify on the way downstream); a schema over maxSchemaNodes gets the structural check only.
 */
export function createValidateLayer(
  compiler: SchemaCompiler = new SchemaCompiler(),
  options: ValidateOptions = {},
): Middleware {
  const maxDepth = options.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  return (next) =>
    async function validateLayer(ctx): Promise<CallToolResult> {
      const name = ctx.route.publicName;
      if (tooDeep(ctx.args, maxDepth))
        return invalidArguments(ctx, `Invalid arguments for ${name}: (root): ${depthMessage(maxDepth)}`);
      const validate = compiler.validatorFor(ctx.route, ctx.log);
      if (validate === OVER_BUDGET) {
        const violation = structuralViolation(ctx.route.inputSchema, ctx.args);
        if (violation !== undefined)
          return invalidArguments(ctx, `Invalid arguments for ${name}: ${violation}`);
      } else if (validate !== null && !validate(ctx.args)) {
        return invalidArguments(ctx, formatViolations(name, validate.errors ?? []));
      }
      return await next(ctx);
    };
}
