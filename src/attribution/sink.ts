/** Where attribution records go. `append` resolves only once the record is durable. */
import { BrokerError } from '../errors/broker-errors.js';
import type { AttributionRecord } from './record.js';

export interface AttributionSink {
  append(record: AttributionRecord): Promise<void>;
  close(): Promise<void>;
}

/** Raised when the sink cannot make a record durable: the broker then mints nothing (503, src/errors/broker-errors.ts). */
export class AttributionUnavailableError extends BrokerError {
  override readonly name = 'AttributionUnavailableError';
  constructor(message?: string, options?: ErrorOptions) {
    super('attribution_unavailable', message, options);
  }
}
