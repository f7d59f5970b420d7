/**
 * Bench server for `onward-cached` and `onward-uncached` (issue 17): the onward exchange a tool performs
 * (tool identity -> broker -> SaaS authorization server, RFC 7523 jwt-bearer), over the test bed of
 * test/upstream/ (a broker, the sample SaaS with its own oidc-provider, an identity provider), all real parts on
 * 127.0.0.1 in this one process (pinned like every server under test, so an uncached exchange pays for the
 * SaaS's token endpoint on the same core). `cached: false` never serves a cached credential: every request
 * obtains a fresh one from the SaaS. The load request (the tool identity's Basic credentials and a broker token
 * for alice) is written to `requestFile` for the orchestrator; then the usual READY line (protocol.ts).
 */
import { writeFile } from 'node:fs/promises';
import { UpstreamCredentialCache } from '../../src/upstream/credential-cache.js';
import { JB, startOnwardBed, TOOL_SECRET } from '../../test/support/onward-bed.js';
import { AT_TYPE, basic, form, TE_GRANT } from '../../test/support/token-request.js';
import { readConfig, type ServerReady } from '../protocol.js';

export interface OnwardServerConfig {
  readonly cached: boolean;
  /** Where the load request is written: `{ headers, body }`. */
  readonly requestFile: string;
}

export interface OnwardLoadRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

const cfg = readConfig() as OnwardServerConfig;
// Uncached: entries are never served (refreshed "before" any expiry), so every exchange calls the SaaS.
const cache = cfg.cached ? new UpstreamCredentialCache() : new UpstreamCredentialCache({ refreshBeforeMs: Number.MAX_SAFE_INTEGER });
const bed = await startOnwardBed({ cache });
const brokerToken = await bed.agentToken('alice', JB, 'accounts.read');
const request: OnwardLoadRequest = {
  headers: { authorization: basic('accounts-jb-tool', TOOL_SECRET), 'content-type': 'application/x-www-form-urlencoded' },
  body: form({ grant_type: TE_GRANT, subject_token: brokerToken, subject_token_type: AT_TYPE, resource: bed.saas.apiResource }),
};
await writeFile(cfg.requestFile, JSON.stringify(request), { mode: 0o600 });

// The bed's memory sink keeps every record; dropped every second so memory stays flat (as broker-same's sink does).
let recorded = 0;
const drop = setInterval(() => { recorded += bed.broker.sink.records.length; bed.broker.sink.records.length = 0; }, 1000);
const stop = (): void => {
  void (async () => {
    clearInterval(drop);
    process.stderr.write(`onward exchange records: ${String(recorded + bed.broker.sink.records.length)}\n`);
    await bed.close();
    process.exit(0);
  })();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
const ready: ServerReady = { url: bed.broker.issuer };
process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
