import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import formatsPlugin from "ajv-formats";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { errorMessage } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Middleware, ToolRoute } from "../types.js";

/** Most violations listed in one result; the rest are counted. */
const MAX_LISTED = 20;

/**
 * Validation only: no coercion, no defaults, no removal — arguments are forwarded verbatim.
 * `validateSchema: false` so a `$schema` we have no meta-schema for does not stop compilation;
 * `addUsedSchema: false` so two tools (or two catalog builds) sharing an `$id` do not collide.
 */
const AJV_OPTIONS: Options = {
  allErrors: true,
  strict: false,
  validateSchema: false,
  addUsedSchema: false,
  validateFormats: true,
  logger: false,
};

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

/** Compiles each route's inputSchema once (WeakMap by route object); `null` = could not compile, pass through. */
export class SchemaCompiler {
  private readonly compiled = new WeakMap<ToolRoute, ValidateFunction | null>();
  private readonly instances = new Map<Dialect, AjvInstance>();

  /** `log` receives the one warning for a schema that does not compile. */
  validatorFor(route: ToolRoute, log: Logger): ValidateFunction | null {
    let fn = this.compiled.get(route);
    if (fn === undefined) {
      fn = this.compile(route, log);
      this.compiled.set(route, fn);
    }
    return fn;
  }

  private compile(route: ToolRoute, log: Logger): ValidateFunction | null {
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

/**
 * Arguments against the tool's inputSchema. An invalid call RETURNS an isError result (no downstream I/O)
 * and sets ctx.notes.invalid; a schema we cannot compile is logged once (on ctx.log) and never blocks the tool.
 */
export function createValidateLayer(compiler: SchemaCompiler = new SchemaCompiler()): Middleware {
  return (next) =>
    // Not async: a valid call returns next's own promise (no extra promise and microtask turn per call).
    function validateLayer(ctx): Promise<CallToolResult> {
      let validate;
      try {
        validate = compiler.validatorFor(ctx.route, ctx.log);
        if (validate === null || validate(ctx.args)) return next(ctx);
      } catch (error) {
        return Promise.reject(error);
      }
      ctx.notes["invalid"] = true;
      return Promise.resolve({
        isError: true,
        content: [{ type: "text", text: formatViolations(ctx.route.publicName, validate.errors ?? []) }],
      });
    };
}
