import { it } from "vitest";
import { fault, startAggregator } from "../helpers/resilience.js";
it("scratch", async () => {
  let t = Date.now();
  const agg = await startAggregator({ a: fault() });
  console.log("start", Date.now() - t);
  await agg.call("a_echo", { message: "x" });
  t = Date.now();
  await agg.close();
  console.log("close", Date.now() - t);
  console.log(agg.h.stderr().split("\n").slice(-8).join("\n"));
}, 60000);
