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

export function canonicalJson(value: unknown): string {
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
