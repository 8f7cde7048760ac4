import { describe, expect, it } from "vitest";
import { CallCancel, childOf, fromSignal } from "../../../src/pipeline/cancel.js";

describe("CallCancel", () => {
  it("runs every listener once, in order, with the reason readable; a second abort changes nothing", () => {
    const cancel = new CallCancel();
    const seen: string[] = [];
    cancel.onAbort(() => seen.push(`a:${String(cancel.reason)}`));
    cancel.onAbort(() => seen.push("b"));
    expect(cancel.aborted).toBe(false);
    cancel.abort("first");
    cancel.abort("second");
    expect(cancel.aborted).toBe(true);
    expect(cancel.reason).toBe("first");
    expect(seen).toEqual(["a:first", "b"]);
  });

  it("a removed listener does not run; removing twice or after the abort is harmless", () => {
    const cancel = new CallCancel();
    const seen: string[] = [];
    const stop = cancel.onAbort(() => seen.push("removed"));
    cancel.onAbort(() => seen.push("kept"));
    stop();
    stop();
    cancel.abort();
    stop();
    expect(seen).toEqual(["kept"]);
    expect(cancel.reason).toBeInstanceOf(Error);
  });

  it("does not call a listener registered after the abort (callers check `aborted` first)", () => {
    const cancel = new CallCancel();
    cancel.abort("gone");
    let called = false;
    cancel.onAbort(() => (called = true));
    expect(called).toBe(false);
  });

  it("makes a real AbortSignal only on demand, aborted with the same reason before or after", () => {
    const early = new CallCancel();
    const signal = early.signal;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(early.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    early.abort("stop");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("stop");

    const late = new CallCancel();
    late.abort("already");
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toBe("already");
  });
});

describe("childOf and fromSignal", () => {
  it("a child aborts with its parent until unlinked, and aborting the child leaves the parent alone", () => {
    const parent = new CallCancel();
    const { cancel: child, unlink } = childOf(parent);
    child.abort("child only");
    expect(parent.aborted).toBe(false);

    const second = childOf(parent);
    parent.abort("parent");
    expect(second.cancel.reason).toBe("parent");

    const parent2 = new CallCancel();
    const third = childOf(parent2);
    third.unlink();
    parent2.abort();
    expect(third.cancel.aborted).toBe(false);
    unlink();
  });

  it("a child of an aborted parent starts aborted", () => {
    const parent = new CallCancel();
    parent.abort("before");
    expect(childOf(parent).cancel.reason).toBe("before");
  });

  it("fromSignal follows an AbortSignal and removes its listener when asked", () => {
    const controller = new AbortController();
    const view = fromSignal(controller.signal);
    expect(view.signal).toBe(controller.signal);
    const seen: string[] = [];
    const stop = view.onAbort(() => seen.push("removed"));
    view.onAbort(() => seen.push(String(view.reason)));
    stop();
    controller.abort("why");
    expect(view.aborted).toBe(true);
    expect(seen).toEqual(["why"]);
    let late = false;
    view.onAbort(() => (late = true));
    expect(late).toBe(false);
  });
});
