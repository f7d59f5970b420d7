/** The pure decision core of the token exchange. */
export { buildActChain, chainActors } from './act-chain.js';
export { boundLifetime, type BoundedLifetime, type LifetimeBounds } from './bound-lifetime.js';
export { decide, precheck, type DecisionInput, type ExchangePolicy } from './decide.js';
export { checkMayAct } from './may-act.js';
export { narrowScopes } from './narrow-scopes.js';
export { parseExchangeRequest } from './parse-request.js';
export { DENIAL_REASONS, deny, isDenial, type Denial, type DenialReason, type OAuthErrorCode } from './reasons.js';
export { resolveTool } from './resolve-tool.js';
export { currentWindow, parseHhMm, type WindowPosition } from './time-windows.js';
