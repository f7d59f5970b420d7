/**
 * The request id every endpoint records and echoes (`X-Request-Id`): the caller's own when it is a short
 * token of safe characters, otherwise a fresh UUID. One rule for every endpoint, so no caller can put 15 KB
 * or control characters into an attribution record through this header.
 */
import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/u;

export function requestIdFrom(header: string | undefined): string {
  return header !== undefined && REQUEST_ID.test(header) ? header : randomUUID();
}
