import { InvalidArgumentError } from "commander";
import { isRedisUrl, redactedUrl } from "../cluster/settings.js";

/** What the command line parses to (src/cli/program.ts), and the parsers of its option values. */

export type Transport = "stdio" | "http";

export interface ServeArgs {
  readonly config?: string | undefined;
  readonly transport: Transport;
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly authToken?: string | undefined;
  readonly allowedHosts: readonly string[];
  readonly metricsPort?: number | undefined;
  readonly dashboardPort?: number | undefined;
  /** --redis URL: cluster mode (state shared through Redis). */
  readonly redis?: string | undefined;
}

export interface ReportArgs {
  readonly config?: string | undefined;
  readonly json: boolean;
  readonly verbose: boolean;
}

export type Parsed =
  /** --help or --version: print `out` on stdout, exit 0. */
  | { readonly kind: "print"; readonly out: string }
  /** Refused: print `message` on stderr, exit 2. */
  | { readonly kind: "usage"; readonly message: string }
  | { readonly kind: "serve"; readonly args: ServeArgs }
  | { readonly kind: "validate"; readonly config?: string | undefined }
  | { readonly kind: "tools"; readonly args: ReportArgs }
  | { readonly kind: "doctor"; readonly args: ReportArgs }
  | {
      readonly kind: "import";
      readonly file: string;
      readonly out?: string | undefined;
      readonly merge: boolean;
    }
  | { readonly kind: "init"; readonly force: boolean; readonly print: boolean }
  | { readonly kind: "login"; readonly args: LoginArgs }
  | { readonly kind: "logout"; readonly args: LoginArgs };

export interface LoginArgs {
  readonly config?: string | undefined;
  readonly server: string;
  /** login: open a browser when one is available. */
  readonly browser: boolean;
  /** login: how long to wait for the sign-in, ms. */
  readonly timeoutMs: number;
}

export const COMMANDS = [
  "serve",
  "validate",
  "tools",
  "doctor",
  "import",
  "init",
  "login",
  "logout",
] as const;

/** A TCP port: decimal digits only (no 0x10, 1e3, 3000abc, " 80"), 0 to 65535. */
export function parsePort(value: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) {
    throw new InvalidArgumentError(`must be a whole number from 0 to 65535, got "${value}"`);
  }
  return Number(value);
}

export function nonEmpty(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("must not be empty");
  return value;
}

export function redisUrl(value: string): string {
  if (!isRedisUrl(value))
    throw new InvalidArgumentError(`must be a redis:// or rediss:// URL, got "${redactedUrl(value)}"`);
  return value;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, nonEmpty(value)];
}
