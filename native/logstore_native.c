/*
 * logstore_native: the few syscalls Node's fs module does not expose, plus CRC32C.
 *
 *   mapFile(fd, length, writable) -> ArrayBuffer   mmap(MAP_SHARED) from offset 0
 *   unmap(bufOrArrayBuffer)                        detach + munmap now (idempotent)
 *   fallocate(fd, offset, length)                  reserve real blocks (never sparse)
 *   punchHole(fd, offset, length)                  give blocks back, keep the size
 *   msync(buf, offset, length)                     MS_SYNC the pages covering the range
 *   madvise(buf, offset, length, advice)
 *   crc32c(buf, start, end, seed?) -> uint32       Castagnoli, SSE4.2 when available
 *
 * Plain N-API (NAPI_VERSION 8). Every argument is validated here: a wrong call throws
 * TypeError/RangeError and never crashes the process. The TS wrapper is lib/storage/native.ts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate(), FALLOC_FL_* */
#endif
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* -DLOGSTORE_NO_HW_CRC builds what non-x86 machines get: the portable code only. */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(LOGSTORE_NO_HW_CRC)
#include <nmmintrin.h>
#define HAVE_X86_CRC 1
#endif

#define MAX_SAFE_INTEGER 9007199254740991.0

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* errno -> its name, for err.code (strerrorname_np is glibc-only). Others are 'UNKNOWN'. */
#define E(x) {x, #x}
static const struct {
  int e;
  const char *name;
} errno_names[] = {
    E(EPERM),  E(ENOENT), E(EINTR),  E(EIO),    E(ENXIO),     E(EBADF),  E(EAGAIN),     E(ENOMEM), E(EACCES),
    E(EFAULT), E(EBUSY),  E(EEXIST), E(ENODEV), E(ENOTDIR),   E(EISDIR), E(EINVAL),     E(ENFILE), E(EMFILE),
    E(EFBIG),  E(ENOSPC), E(ESPIPE), E(EROFS),  E(EOVERFLOW), E(ENOSYS), E(EOPNOTSUPP), E(EDQUOT), E(ETXTBSY),
};
#undef E

static const char *errno_name(int e) {
  for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
    if (errno_names[i].e == e) return errno_names[i].name;
  return "UNKNOWN";
}

/* Throws an Error shaped like Node's fs errors: code 'ENOSPC', errno -28, syscall 'fallocate'. */
static void throw_errno(napi_env env, int e, const char *syscall) {
  char msg[256];
  napi_value code, message, err, num, sys;
  snprintf(msg, sizeof msg, "%s: %s, %s", errno_name(e), strerror(e), syscall);
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &err);
  napi_create_int32(env, -e, &num); /* negative, as libuv/Node report it */
  napi_set_named_property(env, err, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, err, "syscall", sys);
  napi_throw(env, err);
}

/* Both return 0 so argument helpers can `return type_error(...)`. */
static int type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return 0;
}

static int range_error(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Argument helpers: each returns 0 after throwing                                             */
/* ------------------------------------------------------------------------------------------ */

/* A non-negative integer <= max (no NaN, no fractions, no Infinity, no coercion). One N-API
 * call on the good path: napi_get_value_double itself rejects non-numbers. */
static int get_uint(napi_env env, napi_value v, const char *name, double max, uint64_t *out) {
  char msg[128];
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    snprintf(msg, sizeof msg, "The \"%s\" argument must be of type number", name);
    return type_error(env, msg);
  }
  if (!(d >= 0 && d <= max) || (double)(uint64_t)d != d) {
    snprintf(msg, sizeof msg, "The \"%s\" argument must be an integer >= 0 and <= %.0f", name, max);
    return range_error(env, msg);
  }
  *out = (uint64_t)d;
  return 1;
}

static int get_fd(napi_env env, napi_value v, int *fd) {
  uint64_t u;
  if (!get_uint(env, v, "fd", 2147483647.0, &u)) return 0;
  *fd = (int)u;
  return 1;
}

/* A byte view (Buffer / Uint8Array / Int8Array / Uint8ClampedArray): data pointer already
 * adjusted by byteOffset, its length, and optionally the ArrayBuffer behind it. */
static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, napi_value *ab) {
  napi_typedarray_type type;
  void *p = NULL;
  /* Fails (without throwing) on anything that is not a typed array: one call on the good path. */
  if (napi_get_typedarray_info(env, v, &type, len, &p, ab, NULL) != napi_ok ||
      (type != napi_uint8_array && type != napi_int8_array && type != napi_uint8_clamped_array))
    return type_error(env, "The \"buf\" argument must be a Buffer or Uint8Array");
  *data = p;
  return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Mappings                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Every ArrayBuffer returned by mapFile carries this tag, so unmap/msync/madvise can tell a
 * mapping from any other buffer (napi_wrap alone would accept another addon's objects). */
static const napi_type_tag MAPPING_TAG = {0x6c6f6773746f7265ULL, 0x6d6d61702d763031ULL};

typedef struct {
  void *addr;
  size_t len;
  int unmapped; /* set by unmap(); the GC finalizer then only frees this struct */
} mapping_t;

/* Runs (on the JS thread) once V8 has released the ArrayBuffer's backing store: after GC of
 * an ArrayBuffer nobody unmapped, or some time after unmap() detached it. It must not unmap
 * a second time: by then the address range may belong to a newer mapping. */
static void mapping_finalize(napi_env env, void *data, void *hint) {
  mapping_t *m = hint;
  (void)env;
  (void)data;
  if (!m->unmapped) munmap(m->addr, m->len);
  free(m);
}

static napi_value MapFile(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], ab;
  int fd;
  uint64_t len;
  bool writable;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_fd(env, argv[0], &fd)) return NULL;
  /* V8 refuses (fatally) ArrayBuffers above 2^53-1 bytes; mmap itself bounds the rest. */
  if (!get_uint(env, argv[1], "length", MAX_SAFE_INTEGER, &len)) return NULL;
  if (len == 0) {
    range_error(env, "The \"length\" argument must be > 0");
    return NULL;
  }
  if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_boolean) {
    type_error(env, "The \"writable\" argument must be of type boolean");
    return NULL;
  }
  napi_get_value_bool(env, argv[2], &writable);

  /* MAP_SHARED: stores go straight to the page cache (so kill -9 loses nothing) and other
   * processes mapping or reading the file see them. length may exceed the file size: pages
   * beyond EOF are never touched by the caller (touching them would be SIGBUS). */
  void *addr = mmap(NULL, (size_t)len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    throw_errno(env, errno, "mmap");
    return NULL;
  }

  mapping_t *m = malloc(sizeof *m);
  if (m == NULL) {
    munmap(addr, (size_t)len);
    throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  m->addr = addr;
  m->len = (size_t)len;
  m->unmapped = 0;
  if (napi_create_external_arraybuffer(env, addr, (size_t)len, mapping_finalize, m, &ab) != napi_ok) {
    munmap(addr, (size_t)len);
    free(m);
    napi_throw_error(env, "ERR_LOGSTORE_NATIVE", "napi_create_external_arraybuffer failed");
    return NULL;
  }
  /* From here on the finalizer owns m. The wrap only lets unmap() find it (no finalizer). */
  if (napi_type_tag_object(env, ab, &MAPPING_TAG) != napi_ok || napi_wrap(env, ab, m, NULL, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "ERR_LOGSTORE_NATIVE", "could not tag the mapping");
    return NULL;
  }
  return ab;
}

/* Resolves a Buffer/typed array view or an ArrayBuffer to its ArrayBuffer and checks that it
 * is one of ours. */
static int get_mapping_ab(napi_env env, napi_value v, napi_value *ab) {
  bool b = false;
  napi_is_typedarray(env, v, &b);
  if (b) {
    napi_get_typedarray_info(env, v, NULL, NULL, NULL, ab, NULL);
  } else {
    napi_is_arraybuffer(env, v, &b);
    if (!b) return type_error(env, "The \"buf\" argument must be a Buffer returned by mapFile()");
    *ab = v;
  }
  b = false;
  if (napi_check_object_type_tag(env, *ab, &MAPPING_TAG, &b) != napi_ok || !b)
    return type_error(env, "The \"buf\" argument is not a mapping returned by mapFile()");
  return 1;
}

static napi_value Unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ab;
  bool detached = false;
  void *p = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_mapping_ab(env, argv[0], &ab)) return NULL;
  napi_is_detached_arraybuffer(env, ab, &detached);
  if (detached || napi_unwrap(env, ab, &p) != napi_ok || p == NULL) return NULL; /* done before */

  mapping_t *m = p;
  void *addr = m->addr;
  size_t len = m->len;
  /* Detach BEFORE munmap: afterwards every Buffer/subarray over this ArrayBuffer has length 0,
   * so JS can never read or write the freed range (which the kernel may hand to the next mmap;
   * a stale view would then silently corrupt another segment, or SIGSEGV). Doing it now rather
   * than in the GC finalizer is what releases the mapping, and a deleted file's disk space,
   * deterministically. Flag first: the finalizer may run as soon as the backing store goes. */
  m->unmapped = 1;
  if (napi_detach_arraybuffer(env, ab) != napi_ok) {
    m->unmapped = 0;
    napi_throw_error(env, "ERR_LOGSTORE_NATIVE", "could not detach the mapping's ArrayBuffer");
    return NULL;
  }
  napi_remove_wrap(env, ab, NULL); /* m belongs to the finalizer now; never touch it again */
  if (munmap(addr, len) != 0) throw_errno(env, errno, "munmap");
  return NULL;
}

/* Checks [offset, offset+length) against a mapping view and widens it to whole pages (the
 * mapping itself starts on a page boundary, so the widened range stays inside it). */
static int get_mapped_range(napi_env env, napi_value *argv, uint8_t **start, size_t *span) {
  napi_value ab;
  uint8_t *data;
  size_t len;
  uint64_t off, n;
  if (!get_mapping_ab(env, argv[0], &ab)) return 0;
  if (!get_bytes(env, argv[0], &data, &len, NULL)) return 0;
  if (!get_uint(env, argv[1], "offset", MAX_SAFE_INTEGER, &off)) return 0;
  if (!get_uint(env, argv[2], "length", MAX_SAFE_INTEGER, &n)) return 0;
  if (off > len || n > len - off)
    return range_error(env, "offset + length is beyond the buffer (or the mapping was unmapped)");
  if (n == 0) {
    *span = 0;
    return 1;
  }
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = (uintptr_t)(data + off) & ~(page - 1);
  uintptr_t hi = ((uintptr_t)(data + off + n) + page - 1) & ~(page - 1);
  *start = (uint8_t *)lo;
  *span = hi - lo;
  return 1;
}

static napi_value Msync(napi_env env, napi_callback_info info) {
  size_t argc = 3, span;
  napi_value argv[3];
  uint8_t *start = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_mapped_range(env, argv, &start, &span)) return NULL;
  if (span > 0 && msync(start, span, MS_SYNC) != 0) throw_errno(env, errno, "msync");
  return NULL;
}

static napi_value Madvise(napi_env env, napi_callback_info info) {
  size_t argc = 4, span, slen = 0;
  napi_value argv[4];
  uint8_t *start = NULL;
  char s[16];
  int advice;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_mapped_range(env, argv, &start, &span)) return NULL;
  if (napi_typeof(env, argv[3], &t) != napi_ok || t != napi_string) {
    type_error(env, "The \"advice\" argument must be of type string");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[3], s, sizeof s, &slen);
  if (slen != strlen(s)) advice = -1; /* embedded NUL */
  else if (strcmp(s, "sequential") == 0) advice = MADV_SEQUENTIAL;
  else if (strcmp(s, "random") == 0) advice = MADV_RANDOM;
  else if (strcmp(s, "willneed") == 0) advice = MADV_WILLNEED;
  else if (strcmp(s, "dontneed") == 0) advice = MADV_DONTNEED;
  else advice = -1;
  if (advice < 0) {
    type_error(env, "The \"advice\" argument must be 'sequential', 'random', 'willneed' or 'dontneed'");
    return NULL;
  }
  if (span > 0 && madvise(start, span, advice) != 0) throw_errno(env, errno, "madvise");
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Preallocation                                                                               */
/* ------------------------------------------------------------------------------------------ */

static int force_zero_fill = 0; /* test hook: act as if fallocate answered EOPNOTSUPP */

/* Fallback for filesystems without fallocate: write real zeros from the current EOF to
 * offset+length. Only beyond EOF: below it, zeros could overwrite data a mapping wrote. */
static int zero_fill(int fd, uint64_t off, uint64_t len) {
  static uint8_t zeros[1 << 20]; /* 1 MiB of .bss (not const: .rodata would bloat the .so), never written */
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  uint64_t pos = off > (uint64_t)st.st_size ? off : (uint64_t)st.st_size;
  uint64_t end = off + len;
  while (pos < end) {
    size_t chunk = end - pos < sizeof zeros ? (size_t)(end - pos) : sizeof zeros;
    ssize_t w = pwrite(fd, zeros, chunk, (off_t)pos);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    pos += (uint64_t)w; /* a short write is retried; past a limit the next call fails */
  }
  return 0;
}

static napi_value Fallocate(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int fd, e = 0;
  uint64_t off, len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_fd(env, argv[0], &fd)) return NULL;
  if (!get_uint(env, argv[1], "offset", MAX_SAFE_INTEGER, &off)) return NULL;
  if (!get_uint(env, argv[2], "length", MAX_SAFE_INTEGER, &len)) return NULL;
  if (off + len > MAX_SAFE_INTEGER) {
    range_error(env, "offset + length is too large");
    return NULL;
  }
  if (len == 0) return NULL;
  /* Why not ftruncate: ftruncate only sets the size and leaves a hole, so the first store into
   * a page the filesystem cannot back (disk full, quota) is a SIGBUS that kills the process.
   * fallocate mode 0 allocates the blocks now (extending the size), so a full disk surfaces
   * here as ENOSPC/EFBIG, where the caller can turn it into an error. */
#ifdef __linux__
  if (!force_zero_fill) {
    int r;
    do r = fallocate(fd, 0, (off_t)off, (off_t)len);
    while (r != 0 && errno == EINTR);
    e = r == 0 ? 0 : errno;
  } else {
    e = EOPNOTSUPP;
  }
#else
  e = EOPNOTSUPP;
#endif
  if (e == EOPNOTSUPP) e = zero_fill(fd, off, len);
  if (e != 0) throw_errno(env, e, "fallocate");
  return NULL;
}

static napi_value PunchHole(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int fd;
  uint64_t off, len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_fd(env, argv[0], &fd)) return NULL;
  if (!get_uint(env, argv[1], "offset", MAX_SAFE_INTEGER, &off)) return NULL;
  if (!get_uint(env, argv[2], "length", MAX_SAFE_INTEGER, &len)) return NULL;
  if (off + len > MAX_SAFE_INTEGER) {
    range_error(env, "offset + length is too large");
    return NULL;
  }
  if (len == 0) return NULL;
#if defined(__linux__) && defined(FALLOC_FL_PUNCH_HOLE)
  /* KEEP_SIZE: a reader may have the whole file mapped; shrinking it would SIGBUS the reader. */
  int r;
  do r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
  while (r != 0 && errno == EINTR);
  if (r != 0 && errno != EOPNOTSUPP) throw_errno(env, errno, "fallocate");
#endif
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as in Kafka RecordBatch v2            */
/* ------------------------------------------------------------------------------------------ */

static uint32_t crc_table[8][256];

static void crc_init_tables(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc_table[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; n++)
    for (int k = 1; k < 8; k++) crc_table[k][n] = (crc_table[k - 1][n] >> 8) ^ crc_table[0][crc_table[k - 1][n] & 0xff];
}

/* Portable slicing-by-8: 8 table lookups per 8 bytes; byte order independent. */
static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n) {
  for (; n >= 8; n -= 8, p += 8) {
    uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
          crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
  }
  while (n--) crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#ifdef HAVE_X86_CRC
/* The SSE4.2 crc32 instruction computes exactly this polynomial, 8 bytes per instruction. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t n) {
#if defined(__x86_64__)
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    memcpy(&w, p, 8); /* unaligned load */
    c = _mm_crc32_u64(c, w);
  }
  crc = (uint32_t)c;
#endif
  for (; n >= 4; n -= 4, p += 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    crc = _mm_crc32_u32(crc, w);
  }
  while (n--) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}
#endif

typedef uint32_t (*crc_fn)(uint32_t, const uint8_t *, size_t);
static crc_fn crc32c_best = crc32c_sw, crc32c_impl = crc32c_sw;
static const char *crc32c_impl_name = "slicing-by-8";

static napi_value Crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 4, len;
  napi_value argv[4], out;
  uint8_t *data;
  uint64_t start, end, seed = 0;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_bytes(env, argv[0], &data, &len, NULL)) return NULL;
  if (!get_uint(env, argv[1], "start", MAX_SAFE_INTEGER, &start)) return NULL;
  if (!get_uint(env, argv[2], "end", MAX_SAFE_INTEGER, &end)) return NULL;
  if (start > end || end > len) {
    range_error(env, "crc32c: need 0 <= start <= end <= buf.length");
    return NULL;
  }
  if (argc > 3 && (napi_typeof(env, argv[3], &t) != napi_ok || t != napi_undefined) &&
      !get_uint(env, argv[3], "seed", 4294967295.0, &seed))
    return NULL;
  uint32_t crc = ~crc32c_impl(~(uint32_t)seed, data + start, (size_t)(end - start));
  napi_create_uint32(env, crc, &out);
  return out;
}

#ifdef LOGSTORE_TEST_HOOKS
/* testHook(name, on): lets the tests reach the code paths this machine would not take.
 *   'zeroFill'    fallocate() acts as if the filesystem answered EOPNOTSUPP
 *   'softwareCrc' crc32c() uses the portable slicing-by-8 code even with SSE4.2 */
static napi_value TestHook(napi_env env, napi_callback_info info) {
  size_t argc = 2, n = 0;
  napi_value argv[2];
  char name[16] = "";
  bool on = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n);
  if (napi_get_value_bool(env, argv[1], &on) != napi_ok) {
    type_error(env, "testHook(name, on: boolean)");
    return NULL;
  }
  if (strcmp(name, "zeroFill") == 0) {
    force_zero_fill = on;
  } else if (strcmp(name, "softwareCrc") == 0) {
    crc32c_impl = on ? crc32c_sw : crc32c_best;
  } else {
    type_error(env, "testHook: unknown hook");
  }
  return NULL;
}

#endif /* LOGSTORE_TEST_HOOKS */

/* ------------------------------------------------------------------------------------------ */

/* Process-wide setup, once even when worker threads load the addon concurrently. */
static void init_once(void) {
  crc_init_tables();
#ifdef HAVE_X86_CRC
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2")) {
    crc32c_best = crc32c_impl = crc32c_hw;
    crc32c_impl_name = "sse4.2";
  }
#endif
}

NAPI_MODULE_INIT() {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_once);
  napi_value impl;
  napi_create_string_utf8(env, crc32c_impl_name, NAPI_AUTO_LENGTH, &impl);
  napi_property_descriptor props[] = {
      {"mapFile", NULL, MapFile, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmap", NULL, Unmap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fallocate", NULL, Fallocate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"punchHole", NULL, PunchHole, NULL, NULL, NULL, napi_enumerable, NULL},
      {"msync", NULL, Msync, NULL, NULL, NULL, napi_enumerable, NULL},
      {"madvise", NULL, Madvise, NULL, NULL, NULL, napi_enumerable, NULL},
      {"crc32c", NULL, Crc32c, NULL, NULL, NULL, napi_enumerable, NULL},
      {"crc32cImpl", NULL, NULL, NULL, NULL, impl, napi_enumerable, NULL},
#ifdef LOGSTORE_TEST_HOOKS
      {"testHook", NULL, TestHook, NULL, NULL, NULL, napi_enumerable, NULL},
#endif
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
