/**
 * The validation plumbing of the configuration loaders, one module per concern (this file only re-exports
 * them, so that every loader and section imports one place):
 *   problems.ts            the one problem collector and field-path formatting
 *   schema/values.ts       what a YAML value is (mapping, "a list", "a string")
 *   schema/messages.ts     operator-readable messages for schema issues, "did you mean" for unknown keys
 *   schema/parse.ts        parsing with those messages, field by field (the parse stage, assemble.ts)
 *   schema/units.ts        durations and byte sizes
 *   schema/identifiers.ts  non-empty strings, unique lists, scope tokens (RFC 6749 §3.3), tool ids
 */
export { formatPath, Problems, type Path } from './problems.js';
export { describeValue, isMapping } from './schema/values.js';
export { unknownKeyMessage } from './schema/messages.js';
export { check, mappingOf, parseFields, parseValue, type Issue, type ParsedFields, type Shape } from './schema/parse.js';
export { BYTE_SIZE_HINT, byteSize, durationMillis, durationSeconds, parseByteSize } from './schema/units.js';
export {
  nonEmptyString, scopeToken, scopeTokenProblem, SCOPE_TOKEN, SCOPE_TOKEN_MESSAGE, TOOL_ID, TOOL_ID_MESSAGE, toolId, toolIdProblem, uniqueList,
} from './schema/identifiers.js';
