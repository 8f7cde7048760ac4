import { boundProcessHeap, parseHeapSetting } from "./heap.js";

// Imported first by the CLI, so the heap is bounded before the rest of the aggregator loads (src/heap.ts).
// An invalid AUTONOMOUS_MCP_HEAP is reported by the CLI (exit 2); nothing is applied then.
const bounds = parseHeapSetting(process.env["AUTONOMOUS_MCP_HEAP"]);
if (bounds !== undefined && !(bounds instanceof Error)) boundProcessHeap(bounds);
