/**
 * Canonical JSON, the byte form that attribution hashes and signatures cover: object keys sorted by UTF-16
 * code unit (Array.prototype.sort order), no whitespace, strings and numbers exactly as JSON.stringify
 * writes them, object members whose value is `undefined` omitted. Non-finite numbers and values JSON cannot
 * represent (functions, symbols, bigint) are rejected rather than silently changed.
 * Every line of a chained attribution log is written in this form, so a verifier can require
 * `canonicalJson(JSON.parse(line)) === line` and any changed byte shows.
 */
/** `"key":` for member names seen before (record field names repeat in every record). Bounded. */
const memberPrefixes = new Map<string, string>();
const MAX_CACHED_NAMES = 4096;

function memberPrefix(key: string): string {
  let prefix = memberPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `${JSON.stringify(key)}:`;
    if (memberPrefixes.size < MAX_CACHED_NAMES) memberPrefixes.set(key, prefix);
  }
  return prefix;
}

/** The canonical text of one object member, `"key":<canonical value>`. */
export function canonicalMember(key: string, value: unknown): string {
  return memberPrefix(key) + (typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value));
}

/**
 * True when `JSON.stringify(value)` already is the canonical JSON of `value`: strings, finite numbers, booleans,
 * null, arrays, and objects with Object.prototype or no prototype whose keys come in canonical order at every
 * level, with no `toJSON` anywhere JSON.stringify would call one. Walks without allocating. JSON.stringify
 * writes own keys in the order for-in visits them (integer-like keys first, ascending, then insertion order),
 * so "visited in strictly increasing code-unit order" is exactly "no sort needed" (inherited enumerable keys,
 * which for-in visits after the own ones and JSON.stringify ignores, only add checks).
 */
export function isCanonicallyOrdered(value: unknown): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if ('toJSON' in value) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item !== undefined && !isCanonicallyOrdered(item)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const record = value as Record<string, unknown>;
      let previous: string | undefined;
      for (const key in record) {
        if (previous !== undefined && !(previous < key)) return false;
        previous = key;
        const member = record[key];
        if (member !== undefined && !isCanonicallyOrdered(member)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * Records are built in canonical key order (build-record.ts), so the usual case is one JSON.stringify; anything
 * else is sorted here, member by member (a nested value that is in order again takes JSON.stringify).
 */
export function canonicalJson(value: unknown): string {
  return isCanonicallyOrdered(value) ? JSON.stringify(value) : sortedCanonicalJson(value);
}

function sortedCanonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot represent ${String(value)}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          out += `${i === 0 ? '' : ','}${item === undefined ? 'null' : canonicalJson(item)}`;
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, the order this format defines.
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        if (!first) out += ',';
        out += canonicalMember(key, member);
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
  }
}
