/** Where attribution records go. `append` resolves only once the record is durable. */
import type { AttributionRecord } from './record.js';

export interface AttributionSink {
  append(record: AttributionRecord): Promise<void>;
  close(): Promise<void>;
}

/** Raised when the sink cannot make a record durable: the broker then mints nothing. */
export class AttributionUnavailableError extends Error {
  override readonly name = 'AttributionUnavailableError';
}
