/*
 * logstore_native: the few syscalls Node's fs module does not expose, plus CRC32C.
 *
 *   mapFile(fd, length, writable) -> ArrayBuffer   mmap(MAP_SHARED) from offset 0
 *   mapPath(path, writable, length?) -> ArrayBuffer  open + mmap (at most the file) + close
 *   unmap(bufOrArrayBuffer)                        detach + munmap now (idempotent)
 *   fallocate(fd, offset, length)                  reserve real blocks (never sparse)
 *   punchHole(fd, offset, length)                  give blocks back, keep the size
 *   msync(buf, offset, length)                     MS_SYNC the pages covering the range
 *   msyncAsync(buf, offset, length) -> Promise     the same on the libuv thread pool
 *   madvise(buf, offset, length, advice)            advice 'populate-write': take the write
 *                                                  faults of the range in one call (Linux 5.14+;
 *                                                  EINVAL before)
 *   syncFileSystem(path)                           syncfs() of the filesystem holding path
 *   syncFileSystemAsync(path) -> Promise           the same on the libuv thread pool
 *   crc32c(buf, start, end, seed?) -> uint32       Castagnoli, SSE4.2 when available
 *   scanTables() -> [Int32Array, Float64Array]; scanRecords(records) -> n
 *                                                  check a batch's records and say where their
 *                                                  fields are (lib/format/record-decoder.ts)
 *   keepFreedMemory(trimThreshold, topPad, prefault?) -> bool
 *                                                  glibc's mallopt(M_TRIM_THRESHOLD, M_TOP_PAD),
 *                                                  heap pages faulted in now; false if not glibc
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
#include <limits.h>
#include <math.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt() */
#endif

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
    E(ELOOP),  E(ENAMETOOLONG), E(ECANCELED),
};
#undef E

static const char *errno_name(int e) {
  for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
    if (errno_names[i].e == e) return errno_names[i].name;
  return "UNKNOWN";
}

/* An Error shaped like Node's fs errors: code 'EMFILE', errno -24, syscall 'open', and `path`
 * when one is given. `why` replaces strerror's text where the errno alone would mislead. */
static napi_value errno_error(napi_env env, int e, const char *syscall, const char *path, const char *why) {
  char msg[PATH_MAX + 320];
  napi_value code, message, err, num, sys, where;
  snprintf(msg, sizeof msg, "%s: %s, %s%s%s%s", errno_name(e), why ? why : strerror(e), syscall, path ? " '" : "",
           path ? path : "", path ? "'" : "");
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &err);
  napi_create_int32(env, -e, &num); /* negative, as libuv/Node report it */
  napi_set_named_property(env, err, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, err, "syscall", sys);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &where);
    napi_set_named_property(env, err, "path", where);
  }
  return err;
}

/* Throws errno_error(); e.g. code 'ENOSPC', errno -28, syscall 'fallocate'. */
static void throw_errno(napi_env env, int e, const char *syscall) {
  napi_throw(env, errno_error(env, e, syscall, NULL, NULL));
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

/* Every ArrayBuffer returned by mapFile/mapPath carries this tag, so unmap/msync/madvise can
 * tell a mapping from any other buffer (napi_wrap alone would accept another addon's objects). */
static const napi_type_tag MAPPING_TAG = {0x6c6f6773746f7265ULL, 0x6d6d61702d763031ULL};

/*
 * One mapping. Its address range goes back to the kernel exactly once, when the last of these is
 * over: unmap() (or the GC collecting an ArrayBuffer nobody unmapped) and every msyncAsync() in
 * flight on it. A thread-pool msync must never run on a range the kernel may already have given
 * to a newer mapping. The struct is freed by its last owner: the finalizer and each msyncAsync()
 * in flight own it. Every field is read and written on the JS thread only.
 */
typedef struct {
  void *addr;
  size_t len;
  int unmapped;    /* no view can reach the range any more (detached, or the buffer collected) */
  int munmapped;   /* the range was given back */
  unsigned busy;   /* msyncAsync() calls in flight */
  unsigned owners; /* the finalizer + busy */
} mapping_t;

/* Gives the range back once nothing can use it; never twice (it may belong to a newer mapping). */
static int mapping_release_range(mapping_t *m) {
  if (!m->unmapped || m->busy > 0 || m->munmapped) return 0;
  m->munmapped = 1;
  return munmap(m->addr, m->len) == 0 ? 0 : errno;
}

static void mapping_drop_owner(mapping_t *m) {
  if (--m->owners == 0) free(m);
}

/* Runs (on the JS thread) once V8 has released the ArrayBuffer's backing store: after GC of
 * an ArrayBuffer nobody unmapped, or some time after unmap() detached it. */
static void mapping_finalize(napi_env env, void *data, void *hint) {
  mapping_t *m = hint;
  (void)env;
  (void)data;
  m->unmapped = 1;
  mapping_release_range(m); /* nobody to report a failure to; munmap of a valid range does not fail */
  mapping_drop_owner(m);
}

/* Wraps a fresh mapping in a tagged external ArrayBuffer. On failure unmaps it and throws.
 *
 * V8 counts an external ArrayBuffer's full length as external memory (Node gives it a real
 * deleter, so it is not exempt as EmptyDeleter buffers are), and every increase of more than
 * 64 MiB since the last full GC starts one. That is why mappings should span what the file
 * holds, not the segment's capacity. Offsetting the count with napi_adjust_external_memory()
 * does not work: the GC is requested before the offset lands, and Node 24 (V8 13.6) aborts the
 * process when the count goes below zero, as it does between V8 sweeping a collected mapping and
 * its finalizer adding the length back. docs/many-partitions.md has the measurements. */
static napi_value wrap_mapping(napi_env env, void *addr, size_t len) {
  napi_value ab;
  mapping_t *m = calloc(1, sizeof *m);
  if (m == NULL) {
    munmap(addr, len);
    throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  m->addr = addr;
  m->len = len;
  m->owners = 1;
  if (napi_create_external_arraybuffer(env, addr, len, mapping_finalize, m, &ab) != napi_ok) {
    munmap(addr, len);
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

static int get_bool(napi_env env, napi_value v, const char *name, bool *out) {
  char msg[128];
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    snprintf(msg, sizeof msg, "The \"%s\" argument must be of type boolean", name);
    return type_error(env, msg);
  }
  return 1;
}

static napi_value MapFile(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int fd;
  uint64_t len;
  bool writable;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_fd(env, argv[0], &fd)) return NULL;
  /* V8 refuses (fatally) ArrayBuffers above 2^53-1 bytes; mmap itself bounds the rest. */
  if (!get_uint(env, argv[1], "length", MAX_SAFE_INTEGER, &len)) return NULL;
  if (len == 0) {
    range_error(env, "The \"length\" argument must be > 0");
    return NULL;
  }
  if (!get_bool(env, argv[2], "writable", &writable)) return NULL;

  /* MAP_SHARED: stores go straight to the page cache (so kill -9 loses nothing) and other
   * processes mapping or reading the file see them. length may exceed the file size: pages
   * beyond EOF are never touched by the caller (touching them would be SIGBUS). */
  void *addr = mmap(NULL, (size_t)len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    throw_errno(env, errno, "mmap");
    return NULL;
  }
  return wrap_mapping(env, addr, (size_t)len);
}

/* A path for open(): a string without NUL bytes that fits PATH_MAX. */
static int get_path(napi_env env, napi_value v, char *out, size_t cap) {
  size_t n = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string)
    return type_error(env, "The \"path\" argument must be of type string");
  napi_get_value_string_utf8(env, v, NULL, 0, &n);
  if (n >= cap) return range_error(env, "The \"path\" argument is longer than PATH_MAX");
  napi_get_value_string_utf8(env, v, out, cap, &n);
  if (strlen(out) != n) return type_error(env, "The \"path\" argument must be a string without null bytes");
  return 1;
}

static napi_value MapPath(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char path[PATH_MAX];
  bool writable;
  uint64_t want = 0;
  napi_valuetype t = napi_undefined;
  struct stat st;
  int fd, e;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_path(env, argv[0], path, sizeof path)) return NULL;
  if (!get_bool(env, argv[1], "writable", &writable)) return NULL;
  if (argc > 2) napi_typeof(env, argv[2], &t);
  if (t != napi_undefined) {
    if (!get_uint(env, argv[2], "length", MAX_SAFE_INTEGER, &want)) return NULL;
    if (want == 0) {
      range_error(env, "The \"length\" argument must be > 0");
      return NULL;
    }
  }

  /* O_NONBLOCK: opening a FIFO by mistake must fail below, not hang the thread. */
  do fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    napi_throw(env, errno_error(env, errno, "open", path, NULL));
    return NULL;
  }
  if (fstat(fd, &st) != 0) {
    e = errno;
    close(fd);
    napi_throw(env, errno_error(env, e, "fstat", path, NULL));
    return NULL;
  }
  const char *why = NULL;
  e = 0;
  if (!S_ISREG(st.st_mode)) {
    e = S_ISDIR(st.st_mode) ? EISDIR : ENODEV;
    why = "not a regular file";
  } else if (st.st_size == 0 && want == 0) {
    e = EINVAL;
    why = "the file is empty: there is nothing to map";
  } else if ((double)st.st_size > MAX_SAFE_INTEGER) {
    e = EFBIG;
  }
  if (e != 0) {
    close(fd);
    napi_throw(env, errno_error(env, e, "mmap", path, why));
    return NULL;
  }
  /* The whole point: never map a byte the file does not have. A page wholly past EOF is SIGBUS
   * when touched, and no JS check can catch that. */
  if (want > (uint64_t)st.st_size) {
    char msg[160];
    close(fd);
    snprintf(msg, sizeof msg, "The \"length\" argument (%.0f) exceeds the file's size (%.0f bytes)", (double)want,
             (double)st.st_size);
    range_error(env, msg);
    return NULL;
  }
  size_t len = want > 0 ? (size_t)want : (size_t)st.st_size;
  void *addr = mmap(NULL, len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
  e = errno;
  close(fd); /* the mapping keeps its own reference to the open file, outside RLIMIT_NOFILE */
  if (addr == MAP_FAILED) {
    napi_throw(env, errno_error(env, e, "mmap", path, NULL));
    return NULL;
  }
  return wrap_mapping(env, addr, len);
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
    if (!b) return type_error(env, "The \"buf\" argument must be a Buffer returned by mapFile() or mapPath()");
    *ab = v;
  }
  b = false;
  if (napi_check_object_type_tag(env, *ab, &MAPPING_TAG, &b) != napi_ok || !b)
    return type_error(env, "The \"buf\" argument is not a mapping returned by mapFile() or mapPath()");
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
   * deterministically. Flags first, and m untouched after the detach unless an msyncAsync()
   * in flight co-owns it: the finalizer may run (and free m) as soon as the backing store goes. */
  int now = m->busy == 0; /* else the last msyncAsync() in flight gives the range back */
  m->unmapped = 1;
  m->munmapped = now;
  if (napi_detach_arraybuffer(env, ab) != napi_ok) {
    m->unmapped = m->munmapped = 0;
    napi_throw_error(env, "ERR_LOGSTORE_NATIVE", "could not detach the mapping's ArrayBuffer");
    return NULL;
  }
  napi_remove_wrap(env, ab, NULL); /* m belongs to the finalizer now */
  if (now && munmap(addr, len) != 0) throw_errno(env, errno, "munmap");
  return NULL;
}

/* Checks [offset, offset+length) against a mapping view and widens it to whole pages (the
 * mapping itself starts on a page boundary, so the widened range stays inside it). */
static int get_mapped_range(napi_env env, napi_value *argv, napi_value *ab, uint8_t **start, size_t *span) {
  uint8_t *data;
  size_t len;
  uint64_t off, n;
  if (!get_mapping_ab(env, argv[0], ab)) return 0;
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

/* msync(MS_SYNC) of a MAP_SHARED file mapping is Linux's vfs_fsync_range(file, range,
 * datasync=1): the same call fdatasync makes (over the whole file), so it is as durable, and it
 * needs no descriptor: the mapping holds the open file. */
static napi_value Msync(napi_env env, napi_callback_info info) {
  size_t argc = 3, span;
  napi_value argv[3], ab;
  uint8_t *start = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_mapped_range(env, argv, &ab, &start, &span)) return NULL;
  if (span > 0 && msync(start, span, MS_SYNC) != 0) throw_errno(env, errno, "msync");
  return NULL;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the ArrayBuffer: not collected while the thread pool syncs its range */
  mapping_t *m;
  uint8_t *start;
  size_t span;
  int err;
} msync_job_t;

/* On a thread-pool thread: only the job's own copy of the range, never m. */
static void msync_execute(napi_env env, void *data) {
  msync_job_t *j = data;
  (void)env;
  j->err = msync(j->start, j->span, MS_SYNC) == 0 ? 0 : errno;
}

static void msync_complete(napi_env env, napi_status status, void *data) {
  msync_job_t *j = data;
  napi_value result;
  j->m->busy--;
  mapping_release_range(j->m); /* if unmap() came meanwhile; a valid range unmaps */
  mapping_drop_owner(j->m);
  if (status == napi_ok && j->err == 0) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    int e = status == napi_ok ? j->err : ECANCELED; /* cancelled: the environment is shutting down */
    napi_reject_deferred(env, j->deferred, errno_error(env, e, "msync", NULL, NULL));
  }
  napi_delete_reference(env, j->keep);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value MsyncAsync(napi_env env, napi_callback_info info) {
  size_t argc = 3, span;
  napi_value argv[3], ab, promise, name, undefined;
  napi_deferred deferred;
  uint8_t *start = NULL;
  void *p = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_mapped_range(env, argv, &ab, &start, &span)) return NULL;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    napi_throw_error(env, "ERR_LOGSTORE_NATIVE", "napi_create_promise failed");
    return NULL;
  }
  if (span == 0 || napi_unwrap(env, ab, &p) != napi_ok || p == NULL) { /* an empty range: nothing to do */
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, deferred, undefined);
    return promise;
  }
  msync_job_t *j = calloc(1, sizeof *j);
  if (j == NULL) {
    napi_reject_deferred(env, deferred, errno_error(env, ENOMEM, "malloc", NULL, NULL));
    return promise;
  }
  j->deferred = deferred;
  j->m = p;
  j->start = start;
  j->span = span;
  if (napi_create_reference(env, ab, 1, &j->keep) != napi_ok ||
      napi_create_string_utf8(env, "logstore:msync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, msync_execute, msync_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    /* Not reached in practice; a leaked reference here would only keep one buffer alive. */
    napi_reject_deferred(env, deferred, errno_error(env, ENOMEM, "msync", NULL, "could not queue the sync"));
    return promise;
  }
  j->m->busy++;
  j->m->owners++;
  return promise;
}

/* Linux 5.14+: write-fault every page of the range in one call; older kernels answer EINVAL. */
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

static napi_value Madvise(napi_env env, napi_callback_info info) {
  size_t argc = 4, span, slen = 0;
  napi_value argv[4], ab;
  uint8_t *start = NULL;
  char s[24];
  int advice;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_mapped_range(env, argv, &ab, &start, &span)) return NULL;
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
#ifdef MADV_POPULATE_WRITE
  else if (strcmp(s, "populate-write") == 0) advice = MADV_POPULATE_WRITE;
#endif
  else advice = -1;
  if (advice < 0) {
    type_error(env,
               "The \"advice\" argument must be 'sequential', 'random', 'willneed', 'dontneed' or "
               "'populate-write' (Linux)");
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
/* Syncing a whole filesystem                                                                  */
/* ------------------------------------------------------------------------------------------ */

/*
 * syncfs(2) of the filesystem holding `path` (opened O_RDONLY, so a directory works, and closed
 * again): writes every dirty page and inode of that filesystem, commits its journal and flushes
 * the device's cache, once. One call makes thousands of new directory entries or written
 * segments durable where fsync()/fdatasync() would need one device flush each. It reports
 * writeback errors of the filesystem that nobody has seen yet (errseq, Linux 5.8 and later).
 * ENOSYS where there is no syncfs (not Linux): the caller syncs file by file instead.
 */
static int sync_file_system(const char *path, const char **syscall) {
#ifdef __linux__
  int fd, e = 0;
  *syscall = "open";
  do fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno;
  *syscall = "syncfs";
  if (syncfs(fd) != 0) e = errno;
  close(fd);
  return e;
#else
  (void)path;
  *syscall = "syncfs";
  return ENOSYS;
#endif
}

static napi_value SyncFileSystem(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[PATH_MAX];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_path(env, argv[0], path, sizeof path)) return NULL;
  const char *syscall;
  int e = sync_file_system(path, &syscall);
  if (e != 0) napi_throw(env, errno_error(env, e, syscall, path, NULL));
  return NULL;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char path[PATH_MAX];
  const char *syscall;
  int err;
} syncfs_job_t;

static void syncfs_execute(napi_env env, void *data) {
  syncfs_job_t *j = data;
  (void)env;
  j->err = sync_file_system(j->path, &j->syscall);
}

static void syncfs_complete(napi_env env, napi_status status, void *data) {
  syncfs_job_t *j = data;
  napi_value result;
  if (status == napi_ok && j->err == 0) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    int e = status == napi_ok ? j->err : ECANCELED;
    napi_reject_deferred(env, j->deferred, errno_error(env, e, status == napi_ok ? j->syscall : "syncfs", j->path, NULL));
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value SyncFileSystemAsync(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], promise, name;
  napi_deferred deferred;
  char path[PATH_MAX];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_path(env, argv[0], path, sizeof path)) return NULL;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    napi_throw_error(env, "ERR_LOGSTORE_NATIVE", "napi_create_promise failed");
    return NULL;
  }
  syncfs_job_t *j = calloc(1, sizeof *j);
  if (j == NULL) {
    napi_reject_deferred(env, deferred, errno_error(env, ENOMEM, "malloc", NULL, NULL));
    return promise;
  }
  j->deferred = deferred;
  memcpy(j->path, path, sizeof path);
  if (napi_create_string_utf8(env, "logstore:syncfs", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, syncfs_execute, syncfs_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    napi_reject_deferred(env, deferred, errno_error(env, ENOMEM, "syncfs", path, "could not queue the sync"));
    free(j);
    return promise;
  }
  return promise;
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
/*
 * The SSE4.2 crc32 instruction computes exactly this polynomial, 8 bytes per instruction, but
 * each instruction waits ~3 cycles for the one before (one register carries the CRC). Three
 * independent streams over three adjacent blocks keep the unit busy (~3x the bytes per cycle on
 * long inputs: batches of 100 KB to 1 MB); their CRCs are then joined by the rule below.
 *
 * Joining: the CRC register is linear in (register, data), so the register after A then B is
 * Z_|B|(reg(A, r0)) ^ reg(B, 0), where Z_n is what n zero bytes do to a register. Z_n is a 32x32
 * matrix over GF(2), built once per block length by squaring the one-bit step, and applied
 * through four 256-entry tables (one per byte of the register).
 */
#define CRC_STREAM_LONG 8192 /* bytes per stream, long blocks */
#define CRC_STREAM_SHORT 256 /* bytes per stream, short blocks */

static uint32_t crc_zeros_long[4][256], crc_zeros_short[4][256];

/* A 32x32 GF(2) matrix as its 32 columns: column i is the image of bit i. */
static uint32_t gf2_apply(const uint32_t *m, uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; v != 0; i++, v >>= 1)
    if (v & 1) r ^= m[i];
  return r;
}

/* out = a * b (b first, then a). */
static void gf2_multiply(uint32_t *out, const uint32_t *a, const uint32_t *b) {
  uint32_t r[32];
  for (int i = 0; i < 32; i++) r[i] = gf2_apply(a, b[i]);
  memcpy(out, r, sizeof r);
}

/* Tables applying Z_bytes: the operator of `bytes` zero bytes on a (reflected) register. */
static void crc_zeros_tables(uint32_t tables[4][256], size_t bytes) {
  uint32_t step[32], result[32];
  step[0] = 0x82F63B78u; /* one zero bit: shift right, the polynomial in if bit 0 was set */
  for (int i = 1; i < 32; i++) step[i] = 1u << (i - 1);
  for (int k = 0; k < 3; k++) gf2_multiply(step, step, step); /* one bit -> one byte */
  for (int i = 0; i < 32; i++) result[i] = 1u << i;
  for (size_t n = bytes; n != 0; n >>= 1) { /* step^bytes by squaring */
    if (n & 1) gf2_multiply(result, step, result);
    gf2_multiply(step, step, step);
  }
  for (int k = 0; k < 4; k++)
    for (uint32_t b = 0; b < 256; b++) tables[k][b] = gf2_apply(result, b << (8 * k));
}

static inline uint32_t crc_shift(uint32_t tables[4][256], uint32_t crc) {
  return tables[0][crc & 0xff] ^ tables[1][(crc >> 8) & 0xff] ^ tables[2][(crc >> 16) & 0xff] ^
         tables[3][crc >> 24];
}

static void crc_init_hw_tables(void) {
  crc_zeros_tables(crc_zeros_long, CRC_STREAM_LONG);
  crc_zeros_tables(crc_zeros_short, CRC_STREAM_SHORT);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static inline uint64_t crc_word(uint64_t crc, const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8); /* unaligned load */
  return _mm_crc32_u64(crc, w);
}

/* Three streams of `block` bytes each from p, joined; advances nothing (the caller does). */
__attribute__((target("sse4.2"))) static uint32_t crc_three_blocks(uint32_t crc, const uint8_t *p, size_t block,
                                                                 uint32_t zeros[4][256]) {
  uint64_t c0 = crc, c1 = 0, c2 = 0;
  for (const uint8_t *end = p + block; p < end; p += 8) {
    c0 = crc_word(c0, p);
    c1 = crc_word(c1, p + block);
    c2 = crc_word(c2, p + 2 * block);
  }
  uint32_t joined = crc_shift(zeros, (uint32_t)c0) ^ (uint32_t)c1;
  return crc_shift(zeros, joined) ^ (uint32_t)c2;
}
#endif

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t n) {
#if defined(__x86_64__)
  for (; n >= 3 * CRC_STREAM_LONG; n -= 3 * CRC_STREAM_LONG, p += 3 * CRC_STREAM_LONG)
    crc = crc_three_blocks(crc, p, CRC_STREAM_LONG, crc_zeros_long);
  for (; n >= 3 * CRC_STREAM_SHORT; n -= 3 * CRC_STREAM_SHORT, p += 3 * CRC_STREAM_SHORT)
    crc = crc_three_blocks(crc, p, CRC_STREAM_SHORT, crc_zeros_short);
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) c = crc_word(c, p);
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

/* ------------------------------------------------------------------------------------------ */
/* Record scan                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * scanTables() -> [fields: Int32Array, stamps: Float64Array]
 * scanRecords(records) -> n
 *
 * Checks up to `max` records of a batch's records section, from record `i` at byte `p`: every
 * varint, length, offset delta and header count against the bytes left, as
 * lib/format/record-decoder.ts describes, and writes where each record's fields are for the
 * reader that builds the records. A call reads its arguments from, and reports into, the tables
 * scanTables returns (an N-API call costs ~50 ns plus ~25 ns per typed array it is given; a read of
 * single-record batches makes one call a record):
 *   fields[0..6)   in: p, i, count, previous offset delta, last offset delta (the header's), max
 *   fields[8..14)  out: error (SCAN_OK or the check that failed), its position, the byte position
 *                  and index of the next record, the last offset delta, how many had no key
 *   fields[16 + 7k ...]  record k: offset delta, key start, key length (-1: null), value start,
 *                  value length, first header's position, header count; stamps[k] its
 *                  timestamp delta
 * Returns how many records it wrote: all valid, also when it stopped at a bad one after them.
 */
#define SCAN_IN 0
#define SCAN_OUT 8
#define SCAN_RECORDS 16
#define SCAN_FIELDS 7
#define SCAN_ROOM 1024
enum {
  SCAN_OK,
  SCAN_BAD_LENGTH,
  SCAN_BAD_TIMESTAMP,
  SCAN_BAD_OFFSET,
  SCAN_BAD_KEY,
  SCAN_BAD_VALUE,
  SCAN_BAD_HEADER_COUNT,
  SCAN_BAD_HEADER_KEY,
  SCAN_BAD_HEADER_VALUE,
  SCAN_BAD_FIELDS,
  SCAN_TRAILING,
};

typedef struct {
  napi_ref fields_ref, stamps_ref; /* kept alive: the pointers below stay valid */
  int32_t *fields;
  double *stamps;
  size_t room; /* records one call may describe */
} scan_tables_t;

static void scan_tables_free(napi_env env, void *data, void *hint) {
  scan_tables_t *t = data;
  (void)hint;
  napi_delete_reference(env, t->fields_ref);
  napi_delete_reference(env, t->stamps_ref);
  free(t->fields);
  free(t->stamps);
  free(t);
}

/* The tables of this thread (env), made at its first call and kept for its lifetime: every copy
 * of the JS module in the thread shares them (each reads a call's results before anything else
 * can scan). */
static napi_value ScanTables(napi_env env, napi_callback_info info) {
  scan_tables_t *t = NULL;
  napi_value fields, stamps, result, ab1, ab2;
  void *fp = NULL, *sp = NULL;
  (void)info;
  if (napi_get_instance_data(env, (void **)&t) == napi_ok && t != NULL) {
    napi_get_reference_value(env, t->fields_ref, &fields);
    napi_get_reference_value(env, t->stamps_ref, &stamps);
  } else {
    t = calloc(1, sizeof *t);
    if (t == NULL) {
      throw_errno(env, ENOMEM, "calloc");
      return NULL;
    }
    t->room = SCAN_ROOM;
    size_t nfields = SCAN_RECORDS + SCAN_ROOM * SCAN_FIELDS;
    /* C's memory, not V8's: a transfer of the JS buffers would move V8's away from under the
     * pointers; this stays until the thread's env goes (scan_tables_free). */
    fp = calloc(nfields, sizeof(int32_t));
    sp = calloc(SCAN_ROOM, sizeof(double));
    if (fp == NULL || sp == NULL ||
        napi_create_external_arraybuffer(env, fp, nfields * sizeof(int32_t), NULL, NULL, &ab1) != napi_ok ||
        napi_create_external_arraybuffer(env, sp, SCAN_ROOM * sizeof(double), NULL, NULL, &ab2) != napi_ok ||
        napi_create_typedarray(env, napi_int32_array, nfields, ab1, 0, &fields) != napi_ok ||
        napi_create_typedarray(env, napi_float64_array, SCAN_ROOM, ab2, 0, &stamps) != napi_ok) {
      free(fp);
      free(sp);
      free(t);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) throw_errno(env, ENOMEM, "scanTables");
      return NULL;
    }
    t->fields = fp;
    t->stamps = sp;
    napi_create_reference(env, fields, 1, &t->fields_ref);
    napi_create_reference(env, stamps, 1, &t->stamps_ref);
    napi_set_instance_data(env, t, scan_tables_free, NULL);
  }
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, fields);
  napi_set_element(env, result, 1, stamps);
  return result;
}

/* readVarint of varint.ts, value for value: up to 8 bytes, zigzag, the long form in doubles (so
 * values beyond 2^53 round as they do there). *next is the position after it, or -1. */
static inline double scan_varint(const uint8_t *b, double pos, double end, double *next) {
  if (pos < end) {
    uint32_t b0 = b[(size_t)pos];
    if (b0 < 0x80) {
      *next = pos + 1;
      return (double)(int32_t)((b0 >> 1) ^ -(b0 & 1));
    }
    if (pos + 1 < end) {
      uint32_t b1 = b[(size_t)pos + 1];
      if (b1 < 0x80) {
        uint32_t z = (b0 & 0x7f) | (b1 << 7);
        *next = pos + 2;
        return (double)(int32_t)((z >> 1) ^ -(z & 1));
      }
    }
  }
  double z = 0, scale = 1;
  for (int k = 0; k < 8 && pos < end; k++) {
    uint32_t v = b[(size_t)pos];
    pos += 1;
    z += (double)(v & 0x7f) * scale;
    if (v < 0x80) {
      *next = pos;
      return fmod(z, 2) == 0 ? z / 2 : -(z + 1) / 2;
    }
    scale *= 0x80;
  }
  *next = -1;
  return 0;
}

static napi_value ScanRecords(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value arg, out;
  uint8_t *b;
  scan_tables_t *t = NULL;
  napi_get_cb_info(env, info, &argc, &arg, NULL, NULL);
  if (!get_bytes(env, arg, &b, &len, NULL)) return NULL;
  if (napi_get_instance_data(env, (void **)&t) != napi_ok || t == NULL) {
    type_error(env, "scanRecords: call scanTables() first");
    return NULL;
  }
  int32_t *f = t->fields;
  double *s = t->stamps;
  double p = f[SCAN_IN], i = f[SCAN_IN + 1], count = f[SCAN_IN + 2], previous = f[SCAN_IN + 3];
  double lastDelta = f[SCAN_IN + 4], max = f[SCAN_IN + 5];
  if (len > INT32_MAX || p < 0 || p > (double)len || i < 0) {
    range_error(env, "scanRecords: need 0 <= p <= records.length < 2^31 and i >= 0");
    return NULL;
  }
  if (max > (double)t->room) max = (double)t->room;
  const double size = (double)len;
  int error = SCAN_OK;
  double at = 0, next;
  int32_t keyless = 0;
  size_t n = 0;
  for (; i < count && (double)n < max; i++) {
#define FAIL(code, where) \
  do {                    \
    error = (code);       \
    at = (where);         \
    goto done;            \
  } while (0)
    double length = scan_varint(b, p, size, &next);
    if (next < 0 || length < 0 || length > size - next) FAIL(SCAN_BAD_LENGTH, p);
    double end = next + length;
    p = next + 1; /* attributes */
    double tsDelta = scan_varint(b, p, end, &next);
    if (next < 0) FAIL(SCAN_BAD_TIMESTAMP, p);
    double offsetDelta = scan_varint(b, next, end, &next);
    if (next < 0 || offsetDelta <= previous || offsetDelta > lastDelta) FAIL(SCAN_BAD_OFFSET, p);
    p = next;
    double keyLength = scan_varint(b, p, end, &next);
    if (next < 0 || keyLength < -1 || keyLength > end - next) FAIL(SCAN_BAD_KEY, p);
    double keyStart = p = next;
    if (keyLength > 0) p += keyLength;
    double valueLength = scan_varint(b, p, end, &next);
    if (next < 0 || valueLength < -1 || valueLength > end - next) FAIL(SCAN_BAD_VALUE, p);
    double valueStart = p = next;
    if (valueLength > 0) p += valueLength;
    double headers = scan_varint(b, p, end, &next);
    if (next < 0 || headers < 0 || headers > end - next) FAIL(SCAN_BAD_HEADER_COUNT, p);
    double firstHeader = p = next;
    for (double h = 0; h < headers; h++) {
      double keyBytes = scan_varint(b, p, end, &next);
      if (next < 0 || keyBytes < 0 || keyBytes > end - next) FAIL(SCAN_BAD_HEADER_KEY, p);
      p = next + keyBytes;
      double valueBytes = scan_varint(b, p, end, &next);
      if (next < 0 || valueBytes < -1 || valueBytes > end - next) FAIL(SCAN_BAD_HEADER_VALUE, p);
      p = next;
      if (valueBytes > 0) p += valueBytes;
    }
    if (p != end) FAIL(SCAN_BAD_FIELDS, p);
#undef FAIL
    previous = offsetDelta;
    if (keyLength < 0) keyless++;
    int32_t *r = f + SCAN_RECORDS + n * SCAN_FIELDS;
    r[0] = (int32_t)offsetDelta;
    r[1] = (int32_t)keyStart;
    r[2] = (int32_t)keyLength;
    r[3] = (int32_t)valueStart;
    r[4] = (int32_t)valueLength;
    r[5] = (int32_t)firstHeader;
    r[6] = (int32_t)headers;
    s[n++] = tsDelta;
  }
  /* Kafka's DefaultRecordBatch refuses this too: "Incorrect declared batch size, records still
   * remaining". */
  if (i == count && p != size) {
    error = SCAN_TRAILING;
    at = p;
  }
done:
  f[SCAN_OUT] = error;
  f[SCAN_OUT + 1] = (int32_t)at;
  f[SCAN_OUT + 2] = (int32_t)p;
  f[SCAN_OUT + 3] = (int32_t)i;
  f[SCAN_OUT + 4] = (int32_t)previous;
  f[SCAN_OUT + 5] = keyless;
  napi_create_uint32(env, (uint32_t)n, &out);
  return out;
}

/* keepFreedMemory(trimThreshold, topPad, prefault?): glibc hands the top of its heap back to the
 * kernel (brk shrink) once more than M_TRIM_THRESHOLD bytes are free there, and grows it again by
 * M_TOP_PAD past each request. A server that frees and reallocates megabytes of socket buffers
 * per request pays that churn in system time and page faults; raising both keeps the freed memory
 * for the next request. `prefault` bytes (below trimThreshold) of heap are then allocated in
 * pieces below the mmap threshold, written and freed: the heap's pages are faulted in now rather
 * than by the first burst of requests, and stay (as a JVM's AlwaysPreTouch). Process-wide, so only
 * a caller that owns the process (the CLI) should call it. Returns false, changing nothing, where
 * the C library is not glibc. */
#define PREFAULT_PIECE (64 * 1024)
static napi_value KeepFreedMemory(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  uint64_t trim, pad, prefault = 0;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!get_uint(env, argv[0], "trimThreshold", (double)INT_MAX, &trim)) return NULL;
  if (!get_uint(env, argv[1], "topPad", (double)INT_MAX, &pad)) return NULL;
  if (argc > 2 && (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_undefined) &&
      !get_uint(env, argv[2], "prefault", (double)trim, &prefault))
    return NULL;
  bool done = false;
#ifdef __GLIBC__
  done = mallopt(M_TRIM_THRESHOLD, (int)trim) == 1 && mallopt(M_TOP_PAD, (int)pad) == 1;
  size_t pieces = done ? (size_t)(prefault / PREFAULT_PIECE) : 0;
  void **held = pieces > 0 ? malloc(pieces * sizeof *held) : NULL;
  if (held != NULL) {
    size_t n = 0;
    for (; n < pieces; n++) {
      held[n] = malloc(PREFAULT_PIECE);
      if (held[n] == NULL) break;
      memset(held[n], 0, PREFAULT_PIECE);
    }
    while (n > 0) free(held[--n]);
    free(held);
  }
#else
  (void)trim;
  (void)pad;
  (void)prefault;
#endif
  napi_get_boolean(env, done, &out);
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
    crc_init_hw_tables();
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
      {"mapPath", NULL, MapPath, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmap", NULL, Unmap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fallocate", NULL, Fallocate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"punchHole", NULL, PunchHole, NULL, NULL, NULL, napi_enumerable, NULL},
      {"msync", NULL, Msync, NULL, NULL, NULL, napi_enumerable, NULL},
      {"msyncAsync", NULL, MsyncAsync, NULL, NULL, NULL, napi_enumerable, NULL},
      {"madvise", NULL, Madvise, NULL, NULL, NULL, napi_enumerable, NULL},
      {"syncFileSystem", NULL, SyncFileSystem, NULL, NULL, NULL, napi_enumerable, NULL},
      {"syncFileSystemAsync", NULL, SyncFileSystemAsync, NULL, NULL, NULL, napi_enumerable, NULL},
      {"crc32c", NULL, Crc32c, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scanTables", NULL, ScanTables, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scanRecords", NULL, ScanRecords, NULL, NULL, NULL, napi_enumerable, NULL},
      {"keepFreedMemory", NULL, KeepFreedMemory, NULL, NULL, NULL, napi_enumerable, NULL},
      {"crc32cImpl", NULL, NULL, NULL, NULL, impl, napi_enumerable, NULL},
#ifdef LOGSTORE_TEST_HOOKS
      {"testHook", NULL, TestHook, NULL, NULL, NULL, napi_enumerable, NULL},
#endif
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
