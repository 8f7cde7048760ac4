import * as z from "zod";

/** Step ids appear in templates as `steps.<id>.result`, so they are restricted to template-safe characters. */
const STEP_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

const operandPair = z
  .tuple([z.unknown(), z.unknown()])
  .describe(
    "Two operands; each a template string (type kept when it is the whole string) or a JSON literal.",
  );

/**
 * The `when` language. Recursive, so its TypeScript type is written out once here (zod cannot infer a
 * self-referencing union); the schema below is checked against it.
 */
export type Condition =
  | string
  | boolean
  | { equals: [unknown, unknown] }
  | { notEquals: [unknown, unknown] }
  | { gt: [unknown, unknown] }
  | { gte: [unknown, unknown] }
  | { lt: [unknown, unknown] }
  | { lte: [unknown, unknown] }
  | { in: [unknown, unknown] }
  | { exists: unknown }
  | { not: Condition }
  | { and: Condition[] }
  | { or: Condition[] };

export const CONDITION_OPERATORS = [
  "equals",
  "notEquals",
  "gt",
  "gte",
  "lt",
  "lte",
  "in",
  "exists",
  "not",
  "and",
  "or",
] as const;

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union(
    [
      z.string().describe('A template evaluated for truthiness, e.g. "{{input.label}}".'),
      z.boolean().describe("A constant."),
      z.strictObject({
        equals: operandPair.describe("True when both operands are deeply equal (JSON equality)."),
      }),
      z.strictObject({ notEquals: operandPair.describe("True when the operands differ.") }),
      z.strictObject({ gt: operandPair.describe("a > b; both numbers or both strings.") }),
      z.strictObject({ gte: operandPair.describe("a >= b; both numbers or both strings.") }),
      z.strictObject({ lt: operandPair.describe("a < b; both numbers or both strings.") }),
      z.strictObject({ lte: operandPair.describe("a <= b; both numbers or both strings.") }),
      z.strictObject({ in: operandPair.describe("[item, array] membership, or [substring, string].") }),
      z.strictObject({
        exists: z.unknown().describe("True when the template resolves to a value other than null."),
      }),
      z.strictObject({ not: conditionSchema.describe("Negation.") }),
      z.strictObject({ and: z.array(conditionSchema).min(1).describe("True when every condition is true.") }),
      z.strictObject({ or: z.array(conditionSchema).min(1).describe("True when any condition is true.") }),
    ],
    {
      error: `expected a template string, a boolean, or an object with exactly one operator: ${CONDITION_OPERATORS.join(", ")}`,
    },
  ),
);

const positiveInt = z.number().int().positive();

export const onErrorSchema = z
  .union(
    [
      z.literal("abort").describe("Stop the workflow and run compensations of completed steps (default)."),
      z
        .literal("continue")
        .describe("Mark the step error, skip its dependents, go on; the workflow ends 'partial'."),
      z
        .strictObject({
          retry: z
            .number()
            .int()
            .min(0)
            .max(20)
            .describe("How many more times to call after the first failure."),
          delayMs: z.number().int().min(0).default(0).describe("Pause between attempts in ms. Default 0."),
        })
        .describe("Retry, then abort when every attempt failed."),
    ],
    { error: 'expected "abort", "continue" or { "retry": N }' },
  )
  .default("abort")
  .describe('What a failure of this step does: "abort" (default), "continue" or { "retry": N }.');

export const compensateSchema = z
  .strictObject({
    tool: z.string().min(1).describe("Tool (or workflow) that undoes the step."),
    args: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("Arguments; may reference {{steps.<this step>.result}} and the step's dependencies."),
    timeoutMs: positiveInt.default(30_000).describe("Budget for one compensation call in ms. Default 30000."),
  })
  .describe("The undo action run when the workflow aborts after this step completed (saga).");

export const stepSchema = z
  .strictObject({
    id: z
      .string()
      .regex(STEP_ID, "step id must start with a letter or _ and contain only letters, digits, _ and -")
      .describe("Unique id within the workflow; referenced as {{steps.<id>.result}}."),
    tool: z.string().min(1).describe("Public tool name from the catalog, or the name of another workflow."),
    args: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("Arguments; any string may contain {{...}} templates."),
    dependsOn: z
      .array(z.string())
      .default([])
      .describe(
        "Extra ordering: ids of steps that must finish first. Template references add these implicitly.",
      ),
    when: conditionSchema
      .optional()
      .describe("Run only when this condition is true; otherwise the step is skipped."),
    forEach: z
      .union([z.string(), z.array(z.unknown())])
      .optional()
      .describe(
        "Template (or literal array) to iterate; the step runs once per item with {{item}} and {{index}}.",
      ),
    forEachConcurrency: positiveInt
      .max(64)
      .default(4)
      .describe("How many forEach items may be in flight at once. Default 4."),
    onError: onErrorSchema,
    timeoutMs: positiveInt.optional().describe("Budget for one call (one attempt, one forEach item) in ms."),
    compensate: compensateSchema.optional(),
  })
  .describe("One tool call in the workflow.");

export const workflowSchema = z
  .strictObject({
    description: z.string().optional().describe("Tool description shown to clients."),
    input: z
      .record(z.string(), z.unknown())
      .default({ type: "object", properties: {} })
      .describe(
        "JSON Schema (type object) of the workflow's arguments; {{input.x}} must name one of its properties.",
      ),
    steps: z.array(stepSchema).min(1).describe("The steps; they form a DAG through their references."),
    output: z
      .unknown()
      .optional()
      .describe("Template value shaping the result; default: the last step's result."),
    maxConcurrency: positiveInt.max(64).default(4).describe("How many steps may run at once. Default 4."),
    timeoutMs: positiveInt
      .optional()
      .describe("Budget for the whole workflow in ms (compensation excluded)."),
  })
  .describe("A composite tool: steps calling catalog tools or other workflows.");

export const workflowsSchema = z
  .record(z.string().min(1), workflowSchema)
  .describe("Composite workflows by tool name.");

export type StepDefinition = z.infer<typeof stepSchema>;
export type CompensateDefinition = z.infer<typeof compensateSchema>;
export type OnError = z.infer<typeof onErrorSchema>;
export type WorkflowDefinition = z.infer<typeof workflowSchema>;
export type WorkflowsDefinition = z.infer<typeof workflowsSchema>;
/** The shape before defaults are applied (what a config file may contain). */
export type WorkflowInput = z.input<typeof workflowSchema>;
