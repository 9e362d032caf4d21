// The two pure-JS codecs the specs use to let kafkajs read librdkafka's batches ship no types.
declare module 'lz4js' {
  export function decompress(data: Uint8Array): Uint8Array;
}
declare module 'snappyjs' {
  export function uncompress(data: Uint8Array): Uint8Array;
}
