// A compact stand-in for zxcvbn-ts's ranked dictionaries (word → rank).
//
// zxcvbn-ts ranks each word list into a plain object, { word: rank }: for the common, English and
// German lists (about 318,000 words) that is some 16 MiB of V8 heap on top of the lists themselves,
// kept for the life of the process. Here a list becomes one string of all its words, their offsets
// and an open-addressing hash table (typed arrays, outside the V8 heap): about 7 MB for all lists.
//
// zxcvbn-ts only ever reads a ranked dictionary by property (`dictionary[word]`, see
// matcher/dictionary/matching in @zxcvbn-ts/core), so the table is put behind a Proxy that answers
// those reads (and `in`). It has no prototype: "constructor" or "__proto__" is a word only when a
// list has it.

/** What zxcvbn-ts reads: rank of a word (1 = most common), undefined when the list lacks it. */
export type RankedWords = Readonly<Record<string, number>>;

/** FNV-1a over UTF-16 code units. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The ranked dictionary of a list, as zxcvbn-ts's buildRankedDictionary makes it (rank = position
 * + 1; a word listed twice keeps its last rank; numbers are looked up as their text), plus the
 * length of its longest word (zxcvbn-ts's rankedDictionariesMaxWordSize).
 */
export function rankWords(list: readonly (string | number)[]): { words: RankedWords; maxWordSize: number } {
  const n = list.length;
  const offsets = new Uint32Array(n + 1);
  const parts: string[] = new Array<string>(n);
  let maxWordSize = 0;
  for (let i = 0, at = 0; i < n; i++) {
    const word = String(list[i]);
    parts[i] = word;
    offsets[i] = at;
    at += word.length;
    offsets[i + 1] = at;
    if (word.length > maxWordSize) maxWordSize = word.length;
  }
  // One flat string (flattened now, not a rope of 100,000 pieces on the first lookup).
  const packed = parts.join("");

  let size = 2;
  while (size < n * 2) size *= 2; // at most half full
  const mask = size - 1;
  const table = new Int32Array(size); // position + 1; 0 = empty

  /** The slot holding `word`, or the empty slot where it would go. */
  const slotOf = (word: string): number => {
    for (let slot = hash(word) & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot]!;
      if (entry === 0) return slot;
      const start = offsets[entry - 1]!;
      if (offsets[entry]! - start === word.length && packed.startsWith(word, start)) return slot;
    }
  };
  for (let i = 0; i < n; i++) table[slotOf(parts[i]!)] = i + 1;
  parts.length = 0;

  const words = new Proxy(Object.create(null) as RankedWords, {
    get(_target, key) {
      if (typeof key !== "string") return undefined;
      const entry = table[slotOf(key)]!;
      return entry === 0 ? undefined : entry;
    },
    has(_target, key) {
      return typeof key === "string" && table[slotOf(key)] !== 0;
    },
  });
  return { words, maxWordSize: n === 0 ? 0 : maxWordSize };
}
