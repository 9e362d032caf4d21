/**
 * Realistic input for the codec specs and the codec benchmark: the records section of a Kafka
 * batch (varint-framed records, as after the 61-byte header) holding JSON click events with keys
 * and a trace header, the kind of payload that gets compressed in practice. Deterministic.
 */
function pushVarint(out: number[], n: number): void {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
}

function pushBytes(out: number[], bytes: Buffer): void {
  pushVarint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

const EVENTS = ['click', 'view', 'purchase', 'scroll'];
const PAGES = ['/home', '/products/123', '/cart', '/checkout', '/search?q=shoes', '/account'];

/** Exactly `size` bytes of records (the last one cut at the end). */
export function recordBytes(size: number): Buffer {
  const out: number[] = [];
  for (let i = 0; out.length < size; i++) {
    const value = JSON.stringify({
      userId: (i * 7919) % 5000,
      event: EVENTS[i % 4],
      page: PAGES[i % 6],
      ts: 1_733_000_000_000 + i * 37,
      sessionId: `s-${(i * 104729) % 100000}`,
      amount: i % 4 === 2 ? ((i * 13) % 10000) / 100 : undefined,
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
    });
    const body: number[] = [0]; // attributes
    pushVarint(body, i * 3); // timestamp delta
    pushVarint(body, i); // offset delta
    pushBytes(body, Buffer.from(`user-${(i * 7919) % 5000}`));
    pushBytes(body, Buffer.from(value));
    pushVarint(body, 1); // one header
    pushBytes(body, Buffer.from('trace-id'));
    pushBytes(body, Buffer.from(((i * 2654435761) >>> 0).toString(16)));
    pushVarint(out, body.length);
    for (const b of body) out.push(b);
  }
  return Buffer.from(out.slice(0, size));
}
