/** The agent SDK: `import { AgentClient } from 'agent-token-broker/agent'`. */
export { AgentClient, ExchangeError, type AgentClientOptions, type ToolToken } from './agent-client.js';
export type { DpopKeyPair } from '../../dpop/create-dpop-proof.js';
