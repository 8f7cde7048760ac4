// The SDK-free part lives in errorCore.ts so that the CLI can read the config without loading the SDK.
export { AggregatorError, errorMessage, isAggregatorError, type ErrorCode } from "./errorCore.js";
