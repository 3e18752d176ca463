// The checker, in three stages: binding.ts (names across modules), evaluation.ts (types and values of
// declarations, driven by the expected type) and assignability.ts (whether a value fits a type). Errors
// are reported where the value is written, with a note at the declaration it breaks, and evaluation goes
// on with an `error` value, so one mistake is reported once.
export { Checker, type CheckOptions } from "./evaluation.js";
