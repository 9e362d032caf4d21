import { LogStoreError } from '../../errors.js';

/**
 * A frame that does not decode: a length past the bytes left, a bad varint, an unknown API.
 * It is a LogStoreError (LOGSTORE_INVALID_ARGUMENT) so callers match one family of codes; the
 * server closes the connection that sent it and logs `message`.
 */
export class MalformedFrameError extends LogStoreError {
  /** Byte position in the frame (after its size prefix) where decoding stopped. */
  readonly position: number;

  constructor(message: string, position: number) {
    super('LOGSTORE_INVALID_ARGUMENT', `malformed Kafka frame at byte ${position}: ${message}`);
    this.position = position;
  }
}
