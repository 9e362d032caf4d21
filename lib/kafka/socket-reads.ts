/**
 * Reads of a plain TCP socket into memory of the caller's choosing, read after read: Node's
 * `onread` option of net.Socket (a buffer, or a function giving the buffer for each next read, and
 * a callback with the number of bytes read), which Node offers for sockets it connects but not for
 * those a server accepts. An accepted socket, still paused (the server's pauseOnConnect), is given
 * the same three fields `onread` sets; Node 12 to 26 name them so (checked on 20, 22, 24, 26). Where they are missing (another
 * runtime, a TLS socket), nothing is changed and the caller reads 'data' events instead.
 */
import type net from 'node:net';

interface StreamHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

function ownSymbol(socket: net.Socket, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === description);
}

/**
 * Makes each read of the paused `socket` go into the buffer `next()` returns (asked again after
 * every read) and report its size to `received`, which returns false to pause the socket. Returns
 * false, changing nothing, where the socket cannot read so; the caller then resumes it itself.
 */
export function readIntoOwnMemory(
  socket: net.Socket,
  next: () => Buffer,
  received: (bytes: number) => boolean,
): boolean {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  const kBuffer = ownSymbol(socket, 'kBuffer');
  const kBufferGen = ownSymbol(socket, 'kBufferGen');
  const kBufferCb = ownSymbol(socket, 'kBufferCb');
  if (!handle || typeof handle.useUserBuffer !== 'function' || !kBuffer || !kBufferGen || !kBufferCb) {
    return false;
  }
  if (!socket.isPaused()) return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  const first = next();
  fields[kBuffer] = first;
  fields[kBufferGen] = next;
  fields[kBufferCb] = (bytes: number): boolean => received(bytes);
  handle.useUserBuffer(first);
  socket.resume();
  return true;
}
