import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Deadlines } from "../../../src/pipeline/deadlines.js";

describe("Deadlines: many deadlines on one timer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("expires an item exactly at its deadline, not a millisecond before", () => {
    const expired: string[] = [];
    const d = new Deadlines<string>((item) => expired.push(item));
    d.set("a", 100);
    vi.advanceTimersByTime(99);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(["a"]);
    expect(d.size).toBe(0);
  });

  it("a deleted item never expires, and the timer then stops by itself", () => {
    const expired: string[] = [];
    const d = new Deadlines<string>((item) => expired.push(item));
    d.set("a", 100);
    d.delete("a");
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("an earlier deadline set after a later one fires on time; the later one still fires on its own", () => {
    const expired: [string, number][] = [];
    const d = new Deadlines<string>((item) => expired.push([item, Date.now()]));
    const t0 = Date.now();
    d.set("late", 500);
    d.set("early", 50);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([
      ["early", t0 + 50],
      ["late", t0 + 500],
    ]);
  });

  it("setting an item again moves its deadline (progress restarts an attempt timeout)", () => {
    const expired: string[] = [];
    const d = new Deadlines<string>((item) => expired.push(item));
    d.set("a", 100);
    vi.advanceTimersByTime(80);
    d.set("a", 100);
    vi.advanceTimersByTime(80);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(expired).toEqual(["a"]);
  });

  it("a stream of items that finish in time arms the timer once, not once per item", () => {
    const spy = vi.spyOn(globalThis, "setTimeout");
    const d = new Deadlines<number>(() => undefined);
    for (let i = 0; i < 100; i++) {
      d.set(i, 60_000);
      vi.advanceTimersByTime(1);
      d.delete(i);
    }
    expect(spy).toHaveBeenCalledTimes(1);
    // When the armed deadline passes with nothing due, the timer stops instead of re-arming.
    vi.advanceTimersByTime(60_000);
    expect(vi.getTimerCount()).toBe(0);
    spy.mockRestore();
  });

  it("expires every item due at once, and handlers may settle others or set new deadlines", () => {
    const expired: string[] = [];
    const d = new Deadlines<string>((item) => {
      expired.push(item);
      if (item === "a") {
        d.delete("b"); // settled by a's handler: must not expire
        d.set("c", 10);
      }
    });
    d.set("a", 100);
    d.set("b", 100);
    d.set("z", 300);
    vi.advanceTimersByTime(100);
    expect(expired).toEqual(["a"]);
    vi.advanceTimersByTime(10);
    expect(expired).toEqual(["a", "c"]);
    vi.advanceTimersByTime(190);
    expect(expired).toEqual(["a", "c", "z"]);
  });

  it("clear() forgets everything and stops the timer", () => {
    const expired: string[] = [];
    const d = new Deadlines<string>((item) => expired.push(item));
    d.set("a", 100);
    d.clear();
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
