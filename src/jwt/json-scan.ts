/**
 * A strict, linear-time scanner for the JSON text inside a JOSE header or a JWT claims set. It accepts
 * exactly the RFC 8259 grammar (§2-§7: no BOM, no comments, no trailing commas, no leading zeros, no
 * unescaped control characters) and additionally refuses
 *   - a member name that occurs twice in one object, compared after decoding escapes (`"s\u0075b"` is
 *     `"sub"`): RFC 7515 §4 and RFC 7519 §4 let a parser reject duplicates, and JSON.parse would silently
 *     keep the last one, so two parsers could read two different subjects out of one signed token;
 *   - nesting deeper than `maxDepth` containers, refused as soon as the limit is crossed.
 * It only validates; a text it accepts is then safe to hand to JSON.parse, which agrees on every value.
 */

export type JsonProblem = 'syntax' | 'duplicate_member' | 'too_deep';

export type JsonScanResult = { readonly ok: true } | { readonly ok: false; readonly problem: JsonProblem; readonly at: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Thrown inside the scanner only, caught by scanJson: unwinds the recursion at the first refusal (never an HTTP answer). */
class Refusal extends Error {
  constructor(readonly problem: JsonProblem, readonly at: number) {
    super(problem);
  }
}

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;
/** RFC 8259 §2: the four insignificant whitespace characters, and nothing else (no BOM, no NBSP). */
const isWhitespace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

const ESCAPES: Readonly<Record<number, string>> = {
  0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t',
};

class Scanner {
  pos = 0;

  constructor(private readonly text: string, private readonly maxDepth: number) {}

  fail(problem: JsonProblem = 'syntax', at = this.pos): never {
    throw new Refusal(problem, at);
  }

  skipWhitespace(): void {
    const { text } = this;
    while (this.pos < text.length && isWhitespace(text.charCodeAt(this.pos))) this.pos += 1;
  }

  value(depth: number): void {
    const c = this.text.charCodeAt(this.pos);
    if (c === OPEN_OBJECT) this.object(depth + 1);
    else if (c === OPEN_ARRAY) this.array(depth + 1);
    else if (c === QUOTE) this.string(false);
    else if (c === MINUS || isDigit(c)) this.number();
    else if (!this.literal('true') && !this.literal('false') && !this.literal('null')) this.fail();
  }

  literal(word: string): boolean {
    if (!this.text.startsWith(word, this.pos)) return false;
    this.pos += word.length;
    return true;
  }

  object(depth: number): void {
    if (depth > this.maxDepth) this.fail('too_deep');
    this.pos += 1;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === CLOSE_OBJECT) {
      this.pos += 1;
      return;
    }
    // Most JOSE objects have a handful of members: a Set is only worth it for larger ones.
    let names: string[] | Set<string> = [];
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== QUOTE) this.fail();
      const at = this.pos;
      const name = this.string(true);
      if (Array.isArray(names)) {
        if (names.includes(name)) this.fail('duplicate_member', at);
        names.push(name);
        if (names.length > 16) names = new Set(names);
      } else {
        if (names.has(name)) this.fail('duplicate_member', at);
        names.add(name);
      }
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== COLON) this.fail();
      this.pos += 1;
      this.skipWhitespace();
      this.value(depth);
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.pos);
      this.pos += 1;
      if (next === CLOSE_OBJECT) return;
      if (next !== COMMA) this.fail('syntax', this.pos - 1);
      this.skipWhitespace();
    }
  }

  array(depth: number): void {
    if (depth > this.maxDepth) this.fail('too_deep');
    this.pos += 1;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === CLOSE_ARRAY) {
      this.pos += 1;
      return;
    }
    for (;;) {
      this.value(depth);
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.pos);
      this.pos += 1;
      if (next === CLOSE_ARRAY) return;
      if (next !== COMMA) this.fail('syntax', this.pos - 1);
      this.skipWhitespace();
    }
  }

  /** RFC 8259 §7. Returns the decoded string when `decode` (member names), else ''. */
  string(decode: boolean): string {
    const { text } = this;
    const start = this.pos + 1;
    // The common case first, on a local index: a run of plain characters up to the closing quote.
    let pos = start;
    let c = text.charCodeAt(pos);
    while (c !== QUOTE && c !== BACKSLASH && c >= 0x20) c = text.charCodeAt((pos += 1));
    if (c === QUOTE) {
      this.pos = pos + 1;
      return decode ? text.slice(start, pos) : '';
    }
    this.pos = pos;
    return this.escapedString(start, decode);
  }

  /** The rest of a string from the first backslash (or an invalid character) on. */
  escapedString(start: number, decode: boolean): string {
    const { text } = this;
    let decoded = decode ? text.slice(start, this.pos) : '';
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail();
      const c = text.charCodeAt(this.pos);
      if (c === QUOTE) break;
      if (c < 0x20) this.fail();
      if (c !== BACKSLASH) {
        this.pos += 1;
        continue;
      }
      if (decode) decoded += text.slice(chunkStart, this.pos);
      const e = text.charCodeAt(this.pos + 1);
      if (e === 0x75) {
        let unit = 0;
        for (let i = 2; i < 6; i += 1) {
          const h = hexValue(text.charCodeAt(this.pos + i));
          if (h < 0) this.fail();
          unit = unit * 16 + h;
        }
        if (decode) decoded += String.fromCharCode(unit);
        this.pos += 6;
      } else {
        const simple = ESCAPES[e];
        if (simple === undefined) this.fail();
        if (decode) decoded += simple;
        this.pos += 2;
      }
      chunkStart = this.pos;
    }
    const end = this.pos;
    this.pos += 1;
    return decode ? decoded + text.slice(chunkStart, end) : '';
  }

  /** RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. */
  number(): void {
    const { text } = this;
    if (text.charCodeAt(this.pos) === MINUS) this.pos += 1;
    const first = text.charCodeAt(this.pos);
    if (first === ZERO) this.pos += 1;
    else if (isDigit(first)) this.digits();
    else this.fail();
    if (text.charCodeAt(this.pos) === DOT) {
      this.pos += 1;
      if (!isDigit(text.charCodeAt(this.pos))) this.fail();
      this.digits();
    }
    const e = text.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      this.pos += 1;
      const sign = text.charCodeAt(this.pos);
      if (sign === PLUS || sign === MINUS) this.pos += 1;
      if (!isDigit(text.charCodeAt(this.pos))) this.fail();
      this.digits();
    }
  }

  digits(): void {
    while (isDigit(this.text.charCodeAt(this.pos))) this.pos += 1;
  }
}

/**
 * Validates `text` as one RFC 8259 JSON text with unique member names and at most `maxDepth` nested
 * containers (the outermost object or array is depth 1). Linear in the length of `text`.
 */
export function scanJson(text: string, maxDepth: number): JsonScanResult {
  const scanner = new Scanner(text, maxDepth);
  try {
    scanner.skipWhitespace();
    if (scanner.pos >= text.length) scanner.fail();
    scanner.value(0);
    scanner.skipWhitespace();
    if (scanner.pos !== text.length) scanner.fail();
    return { ok: true };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, problem: err.problem, at: err.at };
    throw err;
  }
}
