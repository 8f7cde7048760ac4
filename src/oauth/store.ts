import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { homedir } from "node:os";
import path from "node:path";
import { AggregatorError } from "../errors.js";

/** One server's OAuth state as stored: never logged, never shown (docs/oauth.md). */
export interface StoredServerAuth {
  /** Token set as the authorization server gave it, stamped with its issuer. */
  tokens?: Record<string, unknown> & { access_token: string; refresh_token?: string };
  /** When the access token expires (ms since the epoch), computed from expires_in when saved. */
  expiresAt?: number;
  /** Life of the access token when saved, ms (decides how early a refresh starts). */
  lifetimeMs?: number;
  /** Client registration (dynamic or pre-registered), stamped with its issuer. */
  client?: Record<string, unknown> & { client_id: string };
  /** Where discovery led (protected-resource + authorization-server metadata). */
  discovery?: Record<string, unknown>;
  /** The MCP server URL these tokens were obtained for: a changed URL means a new login. */
  url?: string;
}

type StoreFile = Record<string, StoredServerAuth>;

const FILE = "oauth-tokens.enc";
const KEY_FILE = "oauth-tokens.key";
const VERSION = 1;

/**
 * Where user data lives: AUTONOMOUS_MCP_DATA_DIR, else $XDG_DATA_HOME/autonomous-mcp, else
 * ~/.local/share/autonomous-mcp. A relative XDG_DATA_HOME is ignored (XDG Base Directory spec).
 */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env["AUTONOMOUS_MCP_DATA_DIR"];
  if (own) return path.resolve(own);
  const xdg = env["XDG_DATA_HOME"];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env["HOME"] || homedir(), ".local", "share");
  return path.join(base, "autonomous-mcp");
}

/**
 * The token file: one AES-256-GCM blob (JSON of every server's auth state), mode 0600, written with
 * temp + rename so a reader never sees half a file. The key comes from AUTONOMOUS_MCP_TOKEN_KEY (any
 * string; hashed with SHA-256 to 32 bytes) or from a random key file created 0600 beside it.
 */
export class TokenStore {
  readonly file: string;
  private readonly keyFile: string;
  private key: Buffer | undefined;
  private cache: StoreFile | undefined;
  private cacheMtimeMs = -1;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly envKey: string | undefined,
  ) {
    this.file = path.join(dir, FILE);
    this.keyFile = path.join(dir, KEY_FILE);
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): TokenStore {
    return new TokenStore(dataDir(env), env["AUTONOMOUS_MCP_TOKEN_KEY"] || undefined);
  }

  /** Where the key comes from (doctor shows it; never the key). */
  keySource(): string {
    return this.envKey ? "AUTONOMOUS_MCP_TOKEN_KEY" : this.keyFile;
  }

  /** A server's state; re-read from disk when another process (login, logout) changed the file. */
  async get(server: string): Promise<StoredServerAuth | undefined> {
    const all = await this.load();
    const entry = all[server];
    return entry ? structuredClone(entry) : undefined;
  }

  /** Changes one server's state; writes are serialised within this process. */
  async update(
    server: string,
    change: (entry: StoredServerAuth) => StoredServerAuth | undefined,
  ): Promise<void> {
    const next = this.writing.then(async () => {
      const all = { ...(await this.load()) };
      const changed = change(structuredClone(all[server] ?? {}));
      if (changed === undefined || Object.keys(changed).length === 0) delete all[server];
      else all[server] = changed;
      await this.write(all);
    });
    this.writing = next.catch(() => undefined);
    await next;
  }

  async remove(server: string): Promise<boolean> {
    const had = (await this.get(server)) !== undefined;
    if (had) await this.update(server, () => undefined);
    return had;
  }

  /**
   * Runs `fn` holding a per-server lock file shared by every process using this store (O_EXCL create),
   * so that two aggregators never refresh one server at once: with refresh-token rotation the second
   * would present a spent token. A lock older than `staleMs` (a crashed holder) is taken over.
   */
  async withLock<T>(server: string, fn: () => Promise<T>, staleMs = 60_000): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lock = path.join(
      this.dir,
      `oauth-refresh-${createHash("sha256").update(server).digest("hex").slice(0, 16)}.lock`,
    );
    for (;;) {
      try {
        const handle = await open(lock, "wx", 0o600);
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const age = await stat(lock).then(
          (st) => Date.now() - st.mtimeMs,
          () => 0,
        );
        if (age > staleMs) await rm(lock, { force: true });
        else await delay(25);
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async load(): Promise<StoreFile> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(this.file)).mtimeMs;
    } catch {
      this.cache = {};
      this.cacheMtimeMs = -1;
      return this.cache;
    }
    if (this.cache && mtimeMs === this.cacheMtimeMs) return this.cache;
    const blob = await readFile(this.file);
    this.cache = this.decrypt(blob, await this.getKey(false));
    this.cacheMtimeMs = mtimeMs;
    return this.cache;
  }

  private async write(all: StoreFile): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const blob = this.encrypt(all, await this.getKey(true));
    const temp = `${this.file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    await writeFile(temp, blob, { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, this.file);
    this.cache = all;
    this.cacheMtimeMs = (await stat(this.file)).mtimeMs;
  }

  private async getKey(create: boolean): Promise<Buffer> {
    if (this.key) return this.key;
    if (this.envKey) return (this.key = createHash("sha256").update(this.envKey, "utf8").digest());
    try {
      const raw = await readFile(this.keyFile);
      if (raw.length !== 32) throw new Error(`${this.keyFile} is not a 32-byte key`);
      return (this.key = raw);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || !create) {
        throw new AggregatorError(
          "AUTH_REQUIRED",
          `cannot read the token key ${this.keyFile}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    // wx: two processes creating the key at once must not overwrite each other's.
    await writeFile(this.keyFile, key, { mode: 0o600, flag: "wx" }).catch(async (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    });
    this.key = undefined;
    return this.getKey(false);
  }

  private encrypt(all: StoreFile, key: Buffer): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    const body = Buffer.concat([
      cipher.update(JSON.stringify({ v: VERSION, servers: all }), "utf8"),
      cipher.final(),
    ]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  private decrypt(blob: Buffer, key: Buffer): StoreFile {
    try {
      if (blob[0] !== VERSION) throw new Error(`unknown format ${blob[0]}`);
      const decipher = createDecipheriv("aes-256-gcm", key, blob.subarray(1, 13));
      decipher.setAuthTag(blob.subarray(13, 29));
      const text = Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]).toString("utf8");
      const parsed = JSON.parse(text) as { servers?: StoreFile };
      return parsed.servers ?? {};
    } catch (error) {
      throw new AggregatorError(
        "AUTH_REQUIRED",
        `cannot decrypt ${this.file} with the key from ${this.keySource()} (wrong key or damaged file); ` +
          "run autonomous-mcp logout SERVER, then login again",
        { cause: error },
      );
    }
  }
}
