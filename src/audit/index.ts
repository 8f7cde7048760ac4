export { auditLine, errorCodeOf, MAX_PAYLOAD_CHARS, type AuditLine } from "./line.js";
export { AuditLog, MAX_PENDING_BYTES, type AuditOptions } from "./log.js";
