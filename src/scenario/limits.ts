// Bounds on a scenario's input, shared by the parser (parse.ts) and the playground's URL fragment.

/** At most this many errors are reported for one file. */
export const MAX_ISSUES = 100;

/** Scenario files larger than this are refused before parsing. */
export const MAX_SCENARIO_BYTES = 1 << 20;
