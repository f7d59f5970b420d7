/**
 * Responding in batches per event-loop turn.
 *
 * When an exchange completes without waiting for I/O (in-memory state and sink, a remembered subject
 * token, synchronous signing), its response would be written in the middle of the poll phase, while other
 * sockets that are already readable wait: one write and one wake-up of the client per request, and the
 * server never sees more than a request or two per turn. Deferring such a response to the check phase
 * (setImmediate) lets the turn read every ready request first and then write all their responses together.
 * Measured with `npm run bench -- --scenarios broker-same`: ~1.4x the throughput on one core at the same CPU.
 *
 * A response whose request already waited for I/O (an fsync of the attribution log, a Redis round trip)
 * is written in a later turn anyway, together with the others that waited for the same I/O; deferring it
 * again only costs (~5 % on broker-durable), so only responses completed in the turn they arrived in wait.
 */
import { setImmediate as checkPhase } from 'node:timers/promises';

let turn = 0;
let counting = false;

/** The current event-loop turn (counted by one setImmediate per turn, only while requests arrive). */
export function currentTurn(): number {
  if (!counting) {
    counting = true;
    setImmediate(() => {
      turn += 1;
      counting = false;
    });
  }
  return turn;
}

/** Waits for the check phase if the caller is still in the loop turn `startedIn`; otherwise returns at once. */
export async function leaveTurn(startedIn: number): Promise<void> {
  if (currentTurn() === startedIn) await checkPhase();
}
