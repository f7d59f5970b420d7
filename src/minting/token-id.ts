/**
 * Token ids (`jti`): 128 bits from the CSPRNG, base64url. Drawn from a pooled buffer refilled in 4 KiB
 * blocks (as node:crypto's own randomUUID does) rather than one getrandom call per token.
 */
import { randomFillSync } from 'node:crypto';

const ID_BYTES = 16;
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

export function newTokenId(): string {
  if (offset + ID_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  // Never hand out the same bytes twice: wipe what was used.
  pool.fill(0, offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}
