import { it } from "vitest";
import { fault, startAggregator, text } from "../helpers/resilience.js";
it("scratch", async () => {
  const agg = await startAggregator({
    dl0: fault({ timeoutMs: 400, totalTimeoutMs: 1_500, retry: { retries: 0 } }),
    writer: fault({}, { FAIL_WRITES: "1" }),
    thrower: fault({}, { FLAKY_KIND: "throw" }),
  });
  const show = async (n: string, a: Record<string, unknown> = {}, o = {}) => { const r = await agg.call(n, a, o); console.log(n, r instanceof Error ? `RPC ${r.code} ${r.message}` : JSON.stringify(r).slice(0, 400)); };
  await show("dl0_hang");
  await show("dl0_progress", { steps: 5, delayMs: 150 });
  await show("dl0_progress", { steps: 40, delayMs: 150 }, { onprogress: () => {} });
  await show("writer_write", { value: "a" });
  await show("thrower_flaky", {});
  await show("writer_echo", { message: "x" });
  console.log(JSON.stringify(await agg.status(), null, 1));
  await agg.close();
}, 60000);
