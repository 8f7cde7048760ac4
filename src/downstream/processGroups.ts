import { spawn, type ChildProcess } from "node:child_process";

const IS_WINDOWS = process.platform === "win32";

/**
 * The watchdog, a POSIX shell loop (a few hundred KB of memory, no Node): it reads `+PGID` / `-PGID`
 * lines from its stdin, a pipe only this process writes to. When that pipe closes — this process
 * exited, however it died, SIGKILL included, since the kernel closes its descriptors — it sends SIGTERM
 * to every process group still recorded, waits up to 2 s for them to go, then SIGKILLs what is left.
 * It ignores the terminal's signals (a Ctrl-C reaches the whole foreground group) and runs in its own
 * session, so only the pipe ends it. On a normal shutdown every group was stopped and forgotten first,
 * so it just exits.
 */
const WATCHDOG_SCRIPT = `# autonomous-mcp orphan watchdog: stops the servers' process groups when autonomous-mcp is gone
trap '' INT HUP TERM QUIT
g=' '
while IFS= read -r l; do
  case $l in
    +*) g="$g\${l#+} " ;;
    -*) n=' '; for p in $g; do [ "$p" = "\${l#-}" ] || n="$n$p "; done; g=$n ;;
  esac
done
[ "$g" = ' ' ] && exit 0
for p in $g; do kill -TERM -$p 2>/dev/null; done
i=0
while [ $i -lt 20 ]; do
  a=''
  for p in $g; do kill -0 -$p 2>/dev/null && a=1; done
  [ -z "$a" ] && exit 0
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
for p in $g; do kill -KILL -$p 2>/dev/null; done
`;

/**
 * The process groups of the stdio servers this process started (each server leads its own group), so
 * that none outlives us: the shutdown path can SIGKILL them all at once (a second Ctrl-C), and, once
 * guard() was called, a watchdog process stops them if we die without stopping them ourselves
 * (SIGKILL, OOM kill, a crash). Without the watchdog, a server that ignores stdin EOF (Trello,
 * server-everything) would live on after a hard kill.
 *
 * One per process: it stands for this process's children. Windows has no process groups (nothing
 * recorded, no watchdog).
 */
export class ProcessGroups {
  private readonly live = new Set<number>();
  private guarded = false;
  private watchdog: ChildProcess | undefined;
  private watchdogLost = false;
  private starting = false;

  constructor(private readonly shell = "/bin/sh") {}

  /** The watchdog could not start or stopped early: a hard kill of this process may leave servers behind. */
  onWatchdogLost: (() => void) | undefined;

  /** A group we started (the leader's pid). */
  add(pgid: number): void {
    if (IS_WINDOWS) return;
    this.live.add(pgid);
    if (this.guarded) this.tell(`+${pgid}`);
  }

  /** The group was stopped (its last SIGKILL sent): nothing left for the watchdog to do there. */
  remove(pgid: number): void {
    if (!this.live.delete(pgid)) return;
    if (this.guarded) this.tell(`-${pgid}`);
  }

  get size(): number {
    return this.live.size;
  }

  /** Pid of the watchdog once it runs (for tests and `status`). */
  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }

  /**
   * Enables the watchdog. It is spawned right after the first group is recorded, once the current
   * synchronous turn is over: the servers spawned in that turn start booting first.
   */
  guard(): void {
    if (IS_WINDOWS || this.guarded) return;
    this.guarded = true;
    if (this.live.size > 0) this.scheduleWatchdog();
  }

  /** Sends `signal` to every recorded group now (a second Ctrl-C: no more waiting for SIGTERM). */
  signalAll(signal: NodeJS.Signals): void {
    for (const pgid of this.live) {
      try {
        process.kill(-pgid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  private tell(line: string): void {
    if (this.watchdogLost) return;
    if (!this.watchdog) return this.scheduleWatchdog();
    this.watchdog.stdin?.write(`${line}\n`);
  }

  private scheduleWatchdog(): void {
    if (this.starting || this.watchdog || this.watchdogLost) return;
    this.starting = true;
    queueMicrotask(() => this.startWatchdog());
  }

  private startWatchdog(): void {
    try {
      const child = spawn(this.shell, ["-c", WATCHDOG_SCRIPT, "autonomous-mcp-watchdog"], {
        stdio: ["pipe", "ignore", "ignore"],
        detached: true,
        // It needs `sleep` from PATH and nothing else: none of our secrets in its environment.
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
        cwd: "/",
      });
      this.watchdog = child;
      const lost = (): void => {
        if (this.watchdogLost) return;
        this.watchdogLost = true;
        this.watchdog = undefined;
        this.onWatchdogLost?.();
      };
      child.once("error", lost);
      child.once("exit", lost);
      child.stdin?.on("error", lost);
      // Neither the watchdog nor its pipe keeps this process running.
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      // Everything recorded so far, in one write; later changes line by line.
      if (this.live.size > 0) child.stdin?.write([...this.live].map((p) => `+${p}\n`).join(""));
    } catch {
      this.watchdogLost = true;
      this.onWatchdogLost?.();
    } finally {
      this.starting = false;
    }
  }
}

/** This process's groups: the stdio transport records into it, the CLI guards it. */
export const processGroups = new ProcessGroups();
