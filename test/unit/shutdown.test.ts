import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { installShutdown, whenAborted } from "../../src/shutdown.js";

describe("shutdown signals", () => {
  it("the first SIGINT/SIGTERM requests a stop, the second hurries it, later ones change nothing", () => {
    const source = new EventEmitter();
    const shutdown = installShutdown(source);
    expect(shutdown.requested.aborted).toBe(false);
    source.emit("SIGTERM");
    expect(shutdown.requested.aborted).toBe(true);
    expect(shutdown.requested.reason).toBe("SIGTERM");
    expect(shutdown.hurry.aborted).toBe(false);
    source.emit("SIGINT");
    expect(shutdown.hurry.aborted).toBe(true);
    expect(shutdown.hurry.reason).toBe("SIGINT");
    source.emit("SIGINT");
    expect(shutdown.requested.reason).toBe("SIGTERM");
    shutdown.dispose();
    expect(source.listenerCount("SIGINT") + source.listenerCount("SIGTERM")).toBe(0);
  });

  it("keeps a signal that came before anyone listened", () => {
    const source = new EventEmitter();
    const shutdown = installShutdown(source);
    source.emit("SIGINT");
    const heard: string[] = [];
    whenAborted(shutdown.requested, () => heard.push("now"));
    expect(heard).toEqual(["now"]);
    const undo = whenAborted(shutdown.hurry, () => heard.push("later"));
    undo();
    source.emit("SIGINT");
    expect(heard).toEqual(["now"]);
    shutdown.dispose();
  });
});
