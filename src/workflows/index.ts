export {
  conditionSchema,
  workflowSchema,
  workflowsSchema,
  stepSchema,
  type Condition,
  type StepDefinition,
  type WorkflowDefinition,
  type WorkflowInput,
  type WorkflowsDefinition,
} from "./schema.js";
export type { CompiledStep, CompiledWorkflow } from "./compile.js";
export { validateWorkflows, type ValidateOptions, type ValidationResult } from "./validate.js";
export { stepResultValue, type StepInvoker } from "./call.js";
export { runWorkflow, type RunOptions } from "./runner.js";
export type { StepStatus, StepTrace, WorkflowStatus } from "./state.js";
export type { WorkflowOutcome } from "./report.js";
export {
  planResult,
  planWorkflow,
  workflowHints,
  type PlannedStep,
  type PlannedTarget,
  type RouteInfo,
  type ToolLookup,
  type WorkflowHints,
  type WorkflowPlan,
} from "./plan.js";
