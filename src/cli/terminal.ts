/**
 * What the CLI writes for people on stderr — one-line messages, log lines and a progress line — through
 * one writer, so a log line never lands in the middle of the progress line: the progress line is cleared,
 * the line written, and the progress line drawn again below it.
 */

export interface Terminal {
  /** stderr is a terminal: progress lines are drawn, logs default to pretty. */
  readonly isTTY: boolean;
  /** Colours are on (a TTY without NO_COLOR, or FORCE_COLOR). */
  readonly colour: boolean;
  /** One or more whole lines (a trailing newline is optional). */
  line(text: string): void;
  /** Replaces the progress line (drawn on a TTY only). */
  progress(text: string): void;
  /** Ends the progress line, leaving its last state on screen. */
  done(): void;
  /** Removes the progress line from the screen. */
  clear(): void;
}

export interface TerminalStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Colours follow https://no-color.org: NO_COLOR (any non-empty value) turns them off; FORCE_COLOR
 * (not "0") turns them on; otherwise they are on for a terminal that is not TERM=dumb.
 */
export function colourEnabled(stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env["NO_COLOR"]) return false;
  const force = env["FORCE_COLOR"];
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  return stream.isTTY === true && env["TERM"] !== "dumb";
}

export function createTerminal(stream: TerminalStream, env: NodeJS.ProcessEnv): Terminal {
  const isTTY = stream.isTTY === true;
  let shown: string | undefined; // the progress line on screen, if any
  const write = (text: string): void => void stream.write(text);
  return {
    isTTY,
    colour: colourEnabled(stream, env),
    line(text) {
      const body = text.endsWith("\n") ? text : `${text}\n`;
      if (shown === undefined) return write(body);
      write(`\r\x1b[K${body}\r${shown}\x1b[K`);
    },
    progress(text) {
      if (!isTTY) return;
      shown = text;
      write(`\r${text}\x1b[K`);
    },
    done() {
      if (shown === undefined) return;
      shown = undefined;
      write("\n");
    },
    clear() {
      if (shown === undefined) return;
      shown = undefined;
      write("\r\x1b[K");
    },
  };
}

/** Adapts serve's progress text (`\r…\x1b[K`, a newline once every server settled) to a Terminal. */
export function progressWriter(terminal: Terminal): (text: string) => void {
  return (text) => {
    const line = text
      .replace(/^\r/, "")
      .replace(/\x1b\[K/g, "")
      .replace(/\n$/, "");
    terminal.progress(line);
    if (text.endsWith("\n")) terminal.done();
  };
}

/** ANSI styles that are no-ops when colours are off. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

export function style(colour: boolean): Style {
  const wrap =
    (open: number, close: number) =>
    (s: string): string =>
      colour ? `\x1b[${open}m${s}\x1b[${close}m` : s;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
  };
}
