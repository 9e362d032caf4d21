/**
 * What `logstore verify` reports: one finding per problem, with its file, position and kind, so
 * that tools and tests read data rather than messages.
 */
export type Severity = 'damage' | 'torn-tail' | 'note';

export interface Finding {
  severity: Severity;
  /** The file concerned (a segment, index or the catalog). */
  file: string;
  /** Byte position in `file`, when the finding is at one. */
  position?: number;
  /** The problem kind: a batch walker stop (`bad-crc`, ...) or `short`, `trailing-bytes`, `bad-index`, ... */
  kind: string;
  message: string;
}
