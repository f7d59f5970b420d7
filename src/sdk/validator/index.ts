/** The validation SDK for downstream services: `import { TokenValidator, authenticate, requireScope } from 'agent-token-broker/validator'`. */
export { TokenValidator, type DpopValidationOptions, type RequestContext, type ValidatedToken, type ValidatorOptions } from './token-validator.js';
export { TokenValidationError, wwwAuthenticate, type ChallengeScheme, type ValidationErrorCode } from './errors.js';
export { authenticate, requireScope, protectedResourceMetadata, type KoaOptions } from './koa.js';
export { redisReplayStore, type RedisReplayStoreOptions } from './redis-replay-store.js';
export type { ClaimResult, DpopReplayStore } from './replay-cache.js';
export { brokerUseReporter, type ApprovalUse, type BrokerUseReporterOptions, type UseReportAnswer, type UseReporter } from './approval-use-reporter.js';
export { ActionGuard, type ActionGuardOptions, type CheckedAction, type ToolCall } from './approved-action.js';
export { argumentsDigest } from '../../guardrails/authorization-details/arguments-digest.js';
export { budgetOf, fitsBudget, type TokenBudget } from './budget.js';
