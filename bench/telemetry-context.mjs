/**
 * Why spans are passed along explicitly instead of through an AsyncLocalStorage context manager (the
 * OpenTelemetry SDK's AsyncLocalStorageContextManager is one): a call chain of 9 nested async
 * functions (about as many awaits as a call through the pipeline), 32 in flight, three ways:
 *
 *   none       no context at all
 *   explicit   the context object passed down as an argument (what src/telemetry does)
 *   als        AsyncLocalStorage.run around each call, read with getStore() at the bottom
 *
 * On Node 20 AsyncLocalStorage tracks every promise of the process once used. Prints µs per call.
 *
 *   node bench/telemetry-context.mjs [--calls=5000]
 */
import { AsyncLocalStorage } from "node:async_hooks";

const CALLS = Number(process.argv.find((a) => a.startsWith("--calls="))?.split("=")[1] ?? 5_000);
const als = new AsyncLocalStorage();

async function layer(n, ctx) {
  if (n === 0) {
    await null;
    return ctx ?? als.getStore();
  }
  return await layer(n - 1, ctx);
}

const modes = {
  none: () => layer(8),
  explicit: (i) => layer(8, { i }),
  als: (i) => als.run({ i }, () => layer(8)),
};

async function run(call) {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const batch = [];
    for (let j = 0; j < 32; j++) batch.push(call(i));
    await Promise.all(batch);
  }
  return ((performance.now() - t0) / (CALLS * 32)) * 1000;
}

// "als" last: once AsyncLocalStorage has been used, every promise afterwards pays for it.
const results = {};
for (const [name, call] of Object.entries(modes)) {
  await run(call); // warm-up
  const samples = [];
  for (let k = 0; k < 5; k++) samples.push(await run(call));
  results[name] = samples.sort((a, b) => a - b)[2];
}
process.stdout.write(
  `µs per call (median of 5): ${Object.entries(results)
    .map(([name, us]) => `${name} ${us.toFixed(3)}`)
    .join(", ")}\n`,
);
