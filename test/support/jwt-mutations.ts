/**
 * The mutation classes of the strict-parsing attack suites (issue 15 item 1): each turns a good header and
 * claims set into a token that is validly signed over its own (mutated) signing input, so only a strict
 * parser can tell it from a good one. Everything is built at the string level: jose would never produce these.
 */
import { b64u, type Signer } from './attack-kit.js';

type Json = Record<string, unknown>;

export interface Mutation {
  readonly name: string;
  build(header: Json, claims: Json, sign: Signer): string;
  /** False where HTTP cannot carry it in a header field (a line break in a DPoP or Authorization header). */
  readonly inHeaderField: boolean;
}

function signed(headerSegment: string, payloadSegment: string, sign: Signer): string {
  const input = `${headerSegment}.${payloadSegment}`;
  const sig = sign(input);
  return `${input}.${typeof sig === 'string' ? sig : b64u(sig)}`;
}

/** The claim a duplicate is made of: `sub`, or the first claim where there is none. */
const duplicated = (c: Json): string => ('sub' in c ? 'sub' : Object.keys(c)[0]!);
const fromJson = (header: string, payload: string, sign: Signer) => signed(b64u(header), b64u(payload), sign);
const middle = (s: string, piece: string) => `${s.slice(0, s.length >> 1)}${piece}${s.slice(s.length >> 1)}`;

/** The claims JSON with a `pad` member grown until its base64url length satisfies `ok`. */
function payloadWhere(claims: Json, ok: (segment: string) => boolean, filler = 'x'): string {
  for (let n = 0; n < 64; n += 1) {
    const segment = b64u(JSON.stringify({ ...claims, pad: filler.repeat(n) }));
    if (ok(segment)) return segment;
  }
  throw new Error('no padding found');
}

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'whitespace inside a segment',
    inHeaderField: true,
    build: (h, c, sign) => signed(b64u(JSON.stringify(h)), middle(b64u(JSON.stringify(c)), ' '), sign),
  },
  {
    name: 'a line break inside a segment',
    inHeaderField: false,
    build: (h, c, sign) => signed(middle(b64u(JSON.stringify(h)), '\r\n'), b64u(JSON.stringify(c)), sign),
  },
  {
    name: '= padding',
    inHeaderField: true,
    build: (h, c, sign) => {
      const p = payloadWhere(c, (s) => s.length % 4 !== 0);
      return signed(b64u(JSON.stringify(h)), p + '='.repeat(4 - (p.length % 4)), sign);
    },
  },
  {
    name: '+ and / (the base64 alphabet)',
    inHeaderField: true,
    build: (h, c, sign) => signed(b64u(JSON.stringify(h)), payloadWhere(c, (s) => /[-_]/u.test(s), '?>~').replace(/-/gu, '+').replace(/_/gu, '/'), sign),
  },
  {
    name: 'two segments',
    inHeaderField: true,
    build: (h, c, sign) => fromJson(JSON.stringify(h), JSON.stringify(c), sign).split('.').slice(0, 2).join('.'),
  },
  {
    name: 'four segments',
    inHeaderField: true,
    build: (h, c, sign) => {
      const t = fromJson(JSON.stringify(h), JSON.stringify(c), sign);
      return `${t}.${t.split('.')[2]!}`;
    },
  },
  {
    // The lexically last `sub` is the real one: a lenient parser accepts the token as if it were good.
    // (A claims set without `sub`, a DPoP proof, gets its first claim duplicated instead.)
    name: 'duplicate sub in the payload',
    inHeaderField: true,
    build: (h, c, sign) => fromJson(JSON.stringify(h), `{${JSON.stringify(duplicated(c))}:"mallory",${JSON.stringify(c).slice(1)}`, sign),
  },
  {
    name: 'duplicate alg in the header',
    inHeaderField: true,
    build: (h, c, sign) => fromJson(`{"alg":"HS256",${JSON.stringify(h).slice(1)}`, JSON.stringify(c), sign),
  },
  {
    name: 'an escaped duplicate (su\\u0062 for sub)',
    inHeaderField: true,
    build: (h, c, sign) => {
      const name = duplicated(c);
      const escaped = `${name.slice(0, -1)}\\u${name.charCodeAt(name.length - 1).toString(16).padStart(4, '0')}`;
      return fromJson(JSON.stringify(h), `{"${escaped}":"mallory",${JSON.stringify(c).slice(1)}`, sign);
    },
  },
  {
    // The claims set is level 1, so 32 nested arrays inside it reach level 33.
    name: 'JSON nested 33 deep',
    inHeaderField: true,
    build: (h, c, sign) => fromJson(JSON.stringify(h), `${JSON.stringify(c).slice(0, -1)},"x":${'['.repeat(32)}${']'.repeat(32)}}`, sign),
  },
  {
    name: 'iat an hour in the future',
    inHeaderField: true,
    build: (h, c, sign) => fromJson(JSON.stringify(h), JSON.stringify({ ...c, iat: Math.floor(Date.now() / 1000) + 3600 }), sign),
  },
];

/** The good token the mutations start from (a positive control for every suite). */
export function wellFormed(header: Json, claims: Json, sign: Signer): string {
  return fromJson(JSON.stringify(header), JSON.stringify(claims), sign);
}
