/**
 * Canonical JSON, the byte form that attribution hashes and signatures cover: object keys sorted by UTF-16
 * code unit (Array.prototype.sort order), no whitespace, strings and numbers exactly as JSON.stringify
 * writes them, object members whose value is `undefined` omitted. Non-finite numbers and values JSON cannot
 * represent (functions, symbols, bigint) are rejected rather than silently changed.
 * Every line of a chained attribution log is written in this form, so a verifier can require
 * `canonicalJson(JSON.parse(line)) === line` and any changed byte shows.
 */
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
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
  }
}
