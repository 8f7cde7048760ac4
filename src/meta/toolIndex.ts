/**
 * Tool search for large catalogs: BM25 over weighted fields (a BM25F simplification: one weighted term
 * frequency and length per tool), a light stemmer, and a prefix fallback so "repo" finds "repository".
 * Everything about the documents is computed once at build; a query touches only its terms' postings.
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

const K1 = 1.2;
const B = 0.75;
const PREFIX_FACTOR = 0.5;
const MIN_PREFIX = 3;
const WEIGHTS = { name: 3, title: 2, server: 2, description: 1 } as const;

const STOP_WORDS = new Set(
  (
    "a an and are as at be by for from has have in into is it its of on or that the this to was were will with " +
    "you your can do does if not no so than then there these they those which who what when where how all any"
  ).split(" "),
);

/** Lower-case words, split on non-alphanumerics, `_`, `-` and camelCase boundaries; stop words dropped; stemmed. */
export function tokenize(text: string): string[] {
  const spaced = text
    .replace(/(\p{Ll}|\p{N})(\p{Lu})/gu, "$1 $2")
    .replace(/(\p{Lu}+)(\p{Lu}\p{Ll})/gu, "$1 $2");
  const out: string[] = [];
  for (const word of spaced.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (word === "" || STOP_WORDS.has(word)) continue;
    out.push(stem(word));
  }
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

interface Posting {
  readonly doc: number;
  readonly tf: number;
}

export class ToolIndex {
  readonly size: number;
  private readonly entries: readonly ToolIndexEntry[];
  private readonly postings = new Map<string, Posting[]>();
  /** Precomputed per-document BM25 length normaliser: k1 · (1 − b + b · len / avgLen). */
  private readonly norm: Float64Array;
  /** Sorted vocabulary for prefix lookups by binary search. */
  private readonly vocabulary: string[];

  constructor(entries: readonly ToolIndexEntry[]) {
    this.entries = [...entries];
    this.size = this.entries.length;
    const lengths = new Float64Array(this.size);
    this.entries.forEach((entry, doc) => {
      const tf = new Map<string, number>();
      let length = 0;
      const add = (text: string | undefined, weight: number): void => {
        if (text === undefined) return;
        for (const term of tokenize(text)) {
          tf.set(term, (tf.get(term) ?? 0) + weight);
          length += weight;
        }
      };
      add(entry.name, WEIGHTS.name);
      add(entry.title, WEIGHTS.title);
      add(entry.server, WEIGHTS.server);
      add(entry.description, WEIGHTS.description);
      lengths[doc] = length;
      for (const [term, f] of tf) {
        const list = this.postings.get(term);
        if (list) list.push({ doc, tf: f });
        else this.postings.set(term, [{ doc, tf: f }]);
      }
    });
    let total = 0;
    for (const l of lengths) total += l;
    const avg = this.size === 0 ? 1 : total / this.size || 1;
    this.norm = lengths.map((l) => K1 * (1 - B + (B * l) / avg));
    this.vocabulary = [...this.postings.keys()].sort();
  }

  /** Best matches first (ties by name); only tools that match at least one query term. */
  search(query: string, limit = 10): ToolMatch[] {
    const scores = new Map<number, number>();
    for (const term of new Set(tokenize(query))) {
      const best = new Map<number, number>();
      this.scoreTerm(term, 1, best);
      if (term.length >= MIN_PREFIX) {
        for (const other of this.withPrefix(term))
          if (other !== term) this.scoreTerm(other, PREFIX_FACTOR, best);
      }
      for (const [doc, s] of best) scores.set(doc, (scores.get(doc) ?? 0) + s);
    }
    const ranked = [...scores.entries()].sort(
      (a, b) => b[1] - a[1] || compare(this.entry(a[0]).name, this.entry(b[0]).name),
    );
    return ranked.slice(0, Math.max(0, limit)).map(([doc, score]) => ({ ...this.entry(doc), score }));
  }

  private entry(doc: number): ToolIndexEntry {
    const entry = this.entries[doc];
    if (entry === undefined) throw new RangeError(`no document ${doc}`);
    return entry;
  }

  /** Adds factor · BM25(term) per document into `best`, keeping the larger of exact and prefix scores. */
  private scoreTerm(term: string, factor: number, best: Map<number, number>): void {
    const list = this.postings.get(term);
    if (!list) return;
    const idf = Math.log(1 + (this.size - list.length + 0.5) / (list.length + 0.5));
    for (const { doc, tf } of list) {
      const s = (factor * idf * tf * (K1 + 1)) / (tf + (this.norm[doc] ?? K1));
      if (s > (best.get(doc) ?? 0)) best.set(doc, s);
    }
  }

  private *withPrefix(prefix: string): Generator<string> {
    let lo = 0;
    let hi = this.vocabulary.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.vocabulary[mid] ?? "") < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.vocabulary.length; i++) {
      const word = this.vocabulary[i] ?? "";
      if (!word.startsWith(prefix)) return;
      yield word;
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
