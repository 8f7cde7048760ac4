import MiniSearch, { type SearchOptions } from "minisearch";
import { QUERY_SYNONYMS } from "./synonyms.js";

/**
 * Tool search for large catalogs, on MiniSearch (BM25+): fields name, title, server, description and
 * the input schema's parameter names and descriptions, each weighted; words split at `_`, `-` and
 * camelCase, stop words dropped, a light stemmer; prefix ("repo" → repository) and fuzzy ("isue" →
 * issue) matching; everyday query words expanded with synonyms (synonyms.ts) that count less than the
 * words typed. One index per catalog, built once (search.ts); a query touches only its terms.
 */

export interface ToolIndexEntry {
  readonly name: string;
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly server: string;
  readonly inputSchema: Record<string, unknown>;
}

export interface ToolMatch extends ToolIndexEntry {
  readonly score: number;
}

const BOOST = { name: 3, title: 2, server: 1.5, description: 1, details: 0.3, params: 0.6 } as const;
const SYNONYM_WEIGHT = 0.25;
const MIN_PREFIX = 3;
const MIN_FUZZY = 4;
/** The description's summary (its first paragraph, at most this long) weighs more than the rest. */
const SUMMARY_CHARS = 300;
/** Bounds on what is read from one input schema (hostile schemas are normal). */
const PARAM_DEPTH = 4;
const PARAM_CHARS = 2_000;
const PARAM_COUNT = 80;

const STOP_WORDS = new Set(
  (
    "a an and are as at be by for from has have in into is it its of on or that the this to was were will with " +
    "you your can do does if not no so than then there these they those which who what when where how all any " +
    "me my i we our please some"
  ).split(" "),
);

/** Lower-case words, split on non-alphanumerics, `_`, `-` and camelCase boundaries. */
function words(text: string): string[] {
  const spaced = text
    .replace(/(\p{Ll}|\p{N})(\p{Lu})/gu, "$1 $2")
    .replace(/(\p{Lu}+)(\p{Lu}\p{Ll})/gu, "$1 $2");
  return spaced
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== "");
}

/** Words with stop words dropped, stemmed (what the index holds). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const word of words(text)) if (!STOP_WORDS.has(word)) out.push(stem(word));
  return out;
}

/** Plural, -ing and -ed endings and a final -e removed, keeping stems of three or more characters. */
export function stem(word: string): string {
  let w = word;
  if (w.endsWith("ies") && w.length - 3 >= 2) w = `${w.slice(0, -3)}y`;
  else if (/(?:[sxz]|ch|sh)es$/.test(w) && w.length - 2 >= 3) w = w.slice(0, -2);
  else if (w.endsWith("s") && !/(?:ss|us|is)$/.test(w) && w.length - 1 >= 3) w = w.slice(0, -1);
  let cut = false;
  if (w.endsWith("ing") && w.length - 3 >= 3) [w, cut] = [w.slice(0, -3), true];
  else if (w.endsWith("ed") && w.length - 2 >= 3) [w, cut] = [w.slice(0, -2), true];
  if (cut && /([b-df-hj-km-np-rtv-y])\1$/.test(w) && w.length - 1 >= 3) w = w.slice(0, -1);
  if (w.endsWith("e") && w.length - 1 >= 3) w = w.slice(0, -1);
  return w;
}

/** Stemmed query word → stemmed synonyms. */
const SYNONYMS: ReadonlyMap<string, readonly string[]> = new Map(
  Object.entries(QUERY_SYNONYMS).map(([word, alts]) => [stem(word), [...new Set(alts.map(stem))]]),
);

/** The parameter names and descriptions of an input schema, nested ones included, bounded. */
export function parameterText(schema: unknown): string {
  const parts: string[] = [];
  let chars = 0;
  let count = 0;
  const visit = (node: unknown, depth: number): void => {
    if (depth > PARAM_DEPTH || chars > PARAM_CHARS || node === null || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    const props = n["properties"];
    if (props !== null && typeof props === "object" && !Array.isArray(props)) {
      for (const [key, value] of Object.entries(props as Record<string, unknown>)) {
        if (++count > PARAM_COUNT || chars > PARAM_CHARS) return;
        const description = (value as { description?: unknown } | null)?.description;
        const text = typeof description === "string" ? `${key} ${description}` : key;
        parts.push(text);
        chars += text.length;
        visit(value, depth + 1);
      }
    }
    visit(n["items"], depth + 1);
  };
  visit(schema, 0);
  const all = parts.join(" ");
  return all.length > PARAM_CHARS ? all.slice(0, PARAM_CHARS) : all;
}

interface Doc {
  readonly id: number;
  readonly name: string;
  readonly title: string;
  readonly server: string;
  readonly description: string;
  readonly details: string;
  readonly params: string;
}

/**
 * A description's summary (first paragraph, cut at a sentence end within SUMMARY_CHARS) and the rest:
 * long usage notes ("for my … requests, first call …") must not outweigh what the tool does.
 */
export function splitDescription(text: string): { summary: string; details: string } {
  const paragraph = text.split(/\n\s*\n/, 1)[0] ?? "";
  let end = Math.min(paragraph.length, SUMMARY_CHARS);
  if (end < paragraph.length) {
    const sentence = paragraph.slice(0, SUMMARY_CHARS).search(/[.!?]\s[^.!?]*$/);
    if (sentence > 0) end = sentence + 1;
  }
  return { summary: text.slice(0, end), details: text.slice(end) };
}

export class ToolIndex {
  readonly size: number;
  private readonly entries: readonly ToolIndexEntry[];
  private readonly mini: MiniSearch<Doc>;

  constructor(entries: readonly ToolIndexEntry[]) {
    this.entries = [...entries];
    this.size = this.entries.length;
    this.mini = new MiniSearch<Doc>({
      fields: ["name", "title", "server", "description", "details", "params"],
      tokenize: words,
      processTerm: (term) => (STOP_WORDS.has(term) ? null : stem(term)),
    });
    this.mini.addAll(
      this.entries.map((e, id) => {
        const { summary, details } = splitDescription(e.description ?? "");
        return {
          id,
          name: e.name,
          title: e.title ?? "",
          server: e.server,
          description: summary,
          details,
          params: parameterText(e.inputSchema),
        };
      }),
    );
  }

  /**
   * Best matches first (ties by name); only tools that match at least one query word. Each typed word
   * counts once: its own score (with prefix and fuzzy matches) or its best synonym's, weighted down.
   */
  search(query: string, limit = 10): ToolMatch[] {
    if (limit <= 0) return [];
    const typed = new Map<string, number>(); // stem → length of the word as typed
    for (const word of words(query)) {
      if (STOP_WORDS.has(word)) continue;
      const s = stem(word);
      typed.set(s, Math.max(typed.get(s) ?? 0, word.length));
    }
    const scores = new Map<number, number>();
    for (const [term, length] of typed) {
      const best = new Map<number, number>();
      this.scoreTerm(term, 1, best, {
        prefix: term.length >= MIN_PREFIX,
        fuzzy: length >= MIN_FUZZY ? (length >= 10 ? 2 : 1) : false,
      });
      for (const synonym of SYNONYMS.get(term) ?? [])
        if (!typed.has(synonym))
          this.scoreTerm(synonym, SYNONYM_WEIGHT, best, { prefix: false, fuzzy: false });
      for (const [doc, score] of best) scores.set(doc, (scores.get(doc) ?? 0) + score);
    }
    return [...scores]
      .sort((a, b) => b[1] - a[1] || compare(this.entry(a[0]).name, this.entry(b[0]).name))
      .slice(0, limit)
      .map(([doc, score]) => ({ ...this.entry(doc), score }));
  }

  /** One term's BM25 per document (weighted), keeping each document's best over a word's variants. */
  private scoreTerm(
    term: string,
    weight: number,
    best: Map<number, number>,
    match: Pick<SearchOptions, "prefix" | "fuzzy">,
  ): void {
    const options: SearchOptions = { ...match, boost: { ...BOOST }, maxFuzzy: 2, processTerm: (t) => t };
    for (const r of this.mini.search(term, options)) {
      const doc = r.id as number;
      const score = r.score * weight;
      if (score > (best.get(doc) ?? 0)) best.set(doc, score);
    }
  }

  private entry(doc: number): ToolIndexEntry {
    const entry = this.entries[doc];
    if (entry === undefined) throw new RangeError(`no document ${doc}`);
    return entry;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
