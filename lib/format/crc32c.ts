/**
 * CRC32C (Castagnoli), Kafka's batch checksum. The native one (SSE4.2 where the CPU has it) is
 * used everywhere; see the README for the measurement against the pure TypeScript version.
 */
export { crc32c } from '../storage/native.js';
