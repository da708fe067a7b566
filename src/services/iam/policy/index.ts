// IAM's policy language: parsing and validating documents, and evaluating requests against them.
export * from './types.js';
export { PolicyDocumentError, TRUST_ACTIONS, parsePolicy, policyToJson, type ParseOptions } from './document.js';
export { evaluate, evaluateTrust } from './evaluate.js';
export { OPERATORS, parseDate, parseOperator } from './conditions.js';
export { splitArn } from './match.js';
