/** In-memory sink for tests and tools. Can be switched to failing to exercise fail-closed paths. */
import type { AttributionRecord } from './record.js';
import { AttributionUnavailableError, type AttributionSink } from './sink.js';

export class MemorySink implements AttributionSink {
  readonly records: AttributionRecord[] = [];
  failing = false;

  append(record: AttributionRecord): Promise<void> {
    if (this.failing) return Promise.reject(new AttributionUnavailableError('memory sink set to fail'));
    this.records.push(record);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
