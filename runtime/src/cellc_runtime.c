/* cellc_runtime.c -- the C loader for cellc artifacts (see ../include/cellc.h).
 *
 * The artifact is a zip archive with every member stored uncompressed (runtime/artifact.py
 * documents the layout), so this file needs only: a central-directory reader, SHA-256 (the
 * artifact checksum and the cache file name), a small JSON parser for manifest.json, a .npy
 * header check, and dlopen. Same checks and messages as the Python runtime, including the
 * check of each entry against the signature its code carries (cellc_signature_NAME), and the
 * code is loaded the same way: from the checked bytes in memory (memfd), never from a file.
 *
 * State, as the Python runtime keeps it (runtime/module.py): an output marked "update" in the
 * manifest is hidden: the loader owns its buffer and copies it into the parameter after the
 * call. A parameter marked "random" (a dropout mask) is drawn afresh into the entry's own buffer
 * before every call, from the model's xoshiro256** generator. Such "stateful" calls hold the
 * model's lock.
 */
#define _GNU_SOURCE
#include "cellc.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CELLC_MAX_ARGS 64
#define MIMETYPE "application/x-cellc-artifact"

static void set_error(char *err, size_t errlen, const char *format, ...) {
  if (!err || errlen == 0) return;
  va_list args;
  va_start(args, format);
  vsnprintf(err, errlen, format, args);
  va_end(args);
}

/* ------------------------------------------------------------------------------------------
 * SHA-256 (FIPS 180-4). */

typedef struct sha256 {
  uint32_t state[8];
  uint64_t length;
  unsigned char block[64];
  size_t used;
} sha256;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256 *h, const unsigned char *p) {
  uint32_t w[64], s[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(s, h->state, sizeof s);
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = s[7] + (ROTR(s[4], 6) ^ ROTR(s[4], 11) ^ ROTR(s[4], 25)) +
                  ((s[4] & s[5]) ^ (~s[4] & s[6])) + K256[i] + w[i];
    uint32_t t2 = (ROTR(s[0], 2) ^ ROTR(s[0], 13) ^ ROTR(s[0], 22)) +
                  ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
    memmove(s + 1, s, 7 * sizeof s[0]);
    s[4] += t1;
    s[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++) h->state[i] += s[i];
}

static void sha256_init(sha256 *h) {
  static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(h->state, initial, sizeof initial);
  h->length = 0;
  h->used = 0;
}

static void sha256_update(sha256 *h, const void *data, size_t size) {
  const unsigned char *p = data;
  h->length += size;
  while (size > 0) {
    size_t take = 64 - h->used < size ? 64 - h->used : size;
    memcpy(h->block + h->used, p, take);
    h->used += take, p += take, size -= take;
    if (h->used == 64) sha256_block(h, h->block), h->used = 0;
  }
}

static void sha256_hex(sha256 *h, char hex[65]) {
  uint64_t bits = h->length * 8;
  unsigned char pad = 0x80, zero = 0, length[8];
  sha256_update(h, &pad, 1);
  while (h->used != 56) sha256_update(h, &zero, 1);
  for (int i = 0; i < 8; i++) length[i] = (unsigned char)(bits >> (56 - 8 * i));
  sha256_update(h, length, 8);
  for (int i = 0; i < 8; i++) sprintf(hex + 8 * i, "%08x", h->state[i]);
}

/* ------------------------------------------------------------------------------------------
 * Zip central directory (stored members only; no ZIP64, no encryption). */

typedef struct member {
  char *name;
  const unsigned char *data;
  size_t size;
} member;

static uint32_t le16(const unsigned char *p) { return p[0] | p[1] << 8; }
static uint32_t le32(const unsigned char *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }

static void free_members(member *members, int count) {
  for (int i = 0; members && i < count; i++) free(members[i].name);
  free(members);
}

/* Fills *members (malloc'd) from the archive in blob; returns the count, or -1 with *members
 * left NULL. */
static int read_members(const unsigned char *blob, size_t size, member **members, char *err,
                        size_t errlen, const char *path) {
  *members = NULL;
  member *list = NULL;
  uint32_t count = 0;
  if (size < 22) goto corrupt;
  size_t eocd = size - 22, lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  while (le32(blob + eocd) != 0x06054b50) {
    if (eocd == lowest) goto corrupt;
    eocd--;
  }
  count = le16(blob + eocd + 10);
  size_t offset = le32(blob + eocd + 16);
  list = calloc(count ? count : 1, sizeof *list);
  if (!list) goto corrupt;
  for (uint32_t i = 0; i < count; i++) {
    if (offset + 46 > size || le32(blob + offset) != 0x02014b50) goto corrupt;
    const unsigned char *entry = blob + offset;
    uint32_t method = le16(entry + 10), stored = le32(entry + 20), length = le32(entry + 24);
    uint32_t name_length = le16(entry + 28), extra = le16(entry + 30);
    uint32_t comment = le16(entry + 32), local = le32(entry + 42);
    if (offset + 46 + name_length > size) goto corrupt;
    list[i].name = strndup((const char *)entry + 46, name_length);
    if (method != 0 || stored != length || length == 0xffffffffu) {
      set_error(err, errlen, "'%s' is corrupt: member '%s' is compressed or ZIP64", path,
                list[i].name);
      free_members(list, (int)count);
      return -1;
    }
    if ((size_t)local + 30 > size || le32(blob + local) != 0x04034b50) goto corrupt;
    size_t data = (size_t)local + 30 + le16(blob + local + 26) + le16(blob + local + 28);
    if (data > size || length > size - data) goto corrupt;
    list[i].data = blob + data;
    list[i].size = length;
    offset += 46 + name_length + extra + comment;
  }
  *members = list;
  return (int)count;
corrupt:
  set_error(err, errlen, "'%s' is truncated or corrupt (its zip directory cannot be read)", path);
  free_members(list, (int)count);
  return -1;
}

/* ------------------------------------------------------------------------------------------
 * JSON: enough for manifest.json. Each value keeps its source span (for structure_json). */

enum { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

typedef struct json {
  int type;
  double number;      /* J_NUMBER, J_BOOL */
  char *string;       /* J_STRING */
  char *key;          /* set when the value is an object member */
  struct json *child; /* J_ARRAY, J_OBJECT: first element */
  struct json *next;
  const char *begin, *end;
} json;

typedef struct json_parser {
  const char *p, *end;
  int depth;
} json_parser;

static void json_free(json *value) {
  while (value) {
    json *next = value->next;
    json_free(value->child);
    free(value->string);
    free(value->key);
    free(value);
    value = next;
  }
}

static void skip_space(json_parser *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

static char *parse_string(json_parser *s) {
  if (s->p >= s->end || *s->p != '"') return NULL;
  s->p++;
  size_t capacity = 16, length = 0;
  char *out = malloc(capacity);
  while (out && s->p < s->end && *s->p != '"') {
    if (length + 5 > capacity) {
      char *grown = realloc(out, capacity *= 2);
      if (!grown) break;
      out = grown;
    }
    unsigned char c = (unsigned char)*s->p++;
    if (c < 0x20) break;
    if (c != '\\') {
      out[length++] = (char)c;
      continue;
    }
    if (s->p >= s->end) break;
    char escape = *s->p++;
    const char *simple = strchr("\"\\/bfnrt", escape);
    if (simple && escape) {
      out[length++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
    } else if (escape == 'u' && s->end - s->p >= 4) {
      unsigned code = 0;
      for (int i = 0; i < 4; i++) {
        char h = *s->p++;
        code = code * 16 + (h >= '0' && h <= '9' ? h - '0' : (h | 32) >= 'a' && (h | 32) <= 'f' ? (h | 32) - 'a' + 10 : 0);
      }
      /* UTF-8 encode (surrogate pairs are kept as two 3-byte sequences: names are ASCII). */
      if (code < 0x80) {
        out[length++] = (char)code;
      } else if (code < 0x800) {
        out[length++] = (char)(0xc0 | code >> 6);
        out[length++] = (char)(0x80 | (code & 0x3f));
      } else {
        out[length++] = (char)(0xe0 | code >> 12);
        out[length++] = (char)(0x80 | (code >> 6 & 0x3f));
        out[length++] = (char)(0x80 | (code & 0x3f));
      }
    } else {
      break;
    }
  }
  if (!out || s->p >= s->end || *s->p != '"') {
    free(out);
    return NULL;
  }
  s->p++;
  out[length] = 0;
  return out;
}

static json *parse_value(json_parser *s) {
  skip_space(s);
  if (s->p >= s->end || ++s->depth > 64) return NULL;
  json *value = calloc(1, sizeof *value);
  if (!value) return NULL;
  value->begin = s->p;
  char c = *s->p;
  if (c == '{' || c == '[') {
    value->type = c == '{' ? J_OBJECT : J_ARRAY;
    char close = c == '{' ? '}' : ']';
    json **tail = &value->child;
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == close) {
      s->p++;
      goto done;
    }
    for (;;) {
      char *key = NULL;
      if (value->type == J_OBJECT) {
        skip_space(s);
        key = parse_string(s);
        skip_space(s);
        if (!key || s->p >= s->end || *s->p++ != ':') {
          free(key);
          goto fail;
        }
      }
      json *item = parse_value(s);
      if (!item) {
        free(key);
        goto fail;
      }
      item->key = key;
      *tail = item;
      tail = &item->next;
      skip_space(s);
      if (s->p < s->end && *s->p == ',') {
        s->p++;
        continue;
      }
      if (s->p < s->end && *s->p == close) {
        s->p++;
        goto done;
      }
      goto fail;
    }
  } else if (c == '"') {
    value->type = J_STRING;
    if (!(value->string = parse_string(s))) goto fail;
  } else if (s->end - s->p >= 4 && !strncmp(s->p, "null", 4)) {
    value->type = J_NULL, s->p += 4;
  } else if (s->end - s->p >= 4 && !strncmp(s->p, "true", 4)) {
    value->type = J_BOOL, value->number = 1, s->p += 4;
  } else if (s->end - s->p >= 5 && !strncmp(s->p, "false", 5)) {
    value->type = J_BOOL, s->p += 5;
  } else {
    char buffer[64];
    size_t length = 0;
    while (s->p + length < s->end && length < sizeof buffer - 1 &&
           strchr("+-0123456789.eE", s->p[length]) && s->p[length])
      length++;
    if (length == 0) goto fail;
    memcpy(buffer, s->p, length);
    buffer[length] = 0;
    char *stop;
    value->type = J_NUMBER;
    value->number = strtod(buffer, &stop);
    if (stop != buffer + length) goto fail;
    s->p += length;
  }
done:
  value->end = s->p;
  s->depth--;
  return value;
fail:
  json_free(value);
  return NULL;
}

static const json *json_get(const json *object, const char *key) {
  if (!object || object->type != J_OBJECT) return NULL;
  for (const json *item = object->child; item; item = item->next)
    if (!strcmp(item->key, key)) return item;
  return NULL;
}

static const char *json_string(const json *value) {
  return value && value->type == J_STRING ? value->string : NULL;
}

static int json_length(const json *array) {
  int count = 0;
  if (array && array->type == J_ARRAY)
    for (const json *item = array->child; item; item = item->next) count++;
  return count;
}

static const json *json_at(const json *array, int index) {
  const json *item = array && array->type == J_ARRAY ? array->child : NULL;
  while (item && index-- > 0) item = item->next;
  return item;
}

/* ------------------------------------------------------------------------------------------
 * The model. */

typedef struct tensor {
  cellc_tensor_info info;
  char *name, *meaning;
  int64_t *shape;
} tensor;

typedef struct parameter {
  tensor spec;
  void *data;
  double keep; /* a dropout mask's keep probability ("random"); 0 for an ordinary weight */
} parameter;

struct cellc_entry {
  cellc_model *model;
  char *name, *symbol, *structure_json;
  int n_inputs, n_weights, n_outputs;
  int n_visible; /* outputs 0..n_visible-1 are the host's; the rest update parameters */
  tensor *inputs, *outputs;
  int *weights; /* parameter index of each weight, in ABI order */
  int *updates; /* per output: the index of the parameter it updates, or -1 */
  void **hidden; /* per output: the loader's buffer for an updating output, else NULL */
  void **masks;  /* per weight: the buffer a dropout mask is drawn into, else NULL */
  int stateful;  /* updates parameters or draws masks: the call holds the model's lock */
  int dynamic;   /* compiled for a dynamic batch: the code takes the batch size last */
  void *function;
};

struct cellc_model {
  char *manifest_json;
  void *library;
  int n_entries, n_parameters;
  cellc_entry *entries;
  parameter *parameters;
  pthread_mutex_t lock; /* held by stateful calls, parameter access and cellc_set_seed */
  uint64_t random[4];   /* the xoshiro256** state dropout masks are drawn from */
};

static const char *const DTYPE_NAMES[] = {"float32", "float64", "int32", "int64", "bool", "float16"};
static const char *const NPY_DESCRS[] = {"'<f4'", "'<f8'", "'<i4'", "'<i8'", "'|b1'", "'<f2'"};
static const size_t DTYPE_SIZES[] = {4, 8, 4, 8, 1, 2};
#define N_DTYPES 6

size_t cellc_dtype_size(cellc_dtype dtype) {
  return (unsigned)dtype < N_DTYPES ? DTYPE_SIZES[dtype] : 0;
}
const char *cellc_dtype_name(cellc_dtype dtype) {
  return (unsigned)dtype < N_DTYPES ? DTYPE_NAMES[dtype] : "?";
}

/* ------------------------------------------------------------------------------------------
 * Dropout masks: xoshiro256** (Blackman and Vigna), seeded through splitmix64. Not numpy's
 * stream: the same seed gives other masks than the Python runtime's. */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro256(uint64_t s[4]) {
  uint64_t result = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl64(s[3], 45);
  return result;
}

/* A seed nobody chose, as numpy's default_rng() takes one: masks differ from run to run. */
static uint64_t entropy(const void *salt) {
  uint64_t seed;
  if (getentropy(&seed, sizeof seed) == 0) return seed;
  return (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)salt;
}

void cellc_set_seed(cellc_model *model, uint64_t seed) {
  pthread_mutex_lock(&model->lock);
  for (int i = 0; i < 4; i++) model->random[i] = splitmix64(&seed);
  pthread_mutex_unlock(&model->lock);
}

/* The IEEE binary16 bits of v >= 1 (a mask's 1/keep), rounded to nearest even as numpy's
 * astype(float16) rounds: infinity past 65504. No libm, so the library links with libdl only. */
static uint16_t half_bits(double v) {
  int exponent = 0;
  while (v >= 2 && exponent <= 15) v /= 2, exponent++; /* exact: v = fraction * 2^exponent */
  if (exponent > 15) return 0x7c00;
  double scaled = (v - 1) * 1024; /* the 10 mantissa bits, unrounded */
  unsigned mantissa = (unsigned)scaled;
  double rest = scaled - mantissa;
  if (rest > 0.5 || (rest == 0.5 && mantissa % 2)) mantissa++;
  if (mantissa == 1024) mantissa = 0, exponent++;
  return exponent > 15 ? 0x7c00 : (uint16_t)((exponent + 15) << 10 | mantissa);
}

/* Fills `mask` with a fresh dropout mask for p: each element 1/keep with probability keep
 * (as Python: uniform [0, 1) below keep), else 0, in p's dtype. Holds the model's lock. */
static void draw_mask(cellc_model *model, const parameter *p, void *mask) {
  double scale = 1.0 / p->keep;
  uint16_t half_scale = half_bits(scale);
  for (int64_t i = 0; i < p->spec.info.numel; i++) {
    int kept = (double)(xoshiro256(model->random) >> 11) * 0x1p-53 < p->keep;
    switch (p->spec.info.dtype) {
      case CELLC_FLOAT32: ((float *)mask)[i] = kept ? (float)scale : 0.0f; break;
      case CELLC_FLOAT64: ((double *)mask)[i] = kept ? scale : 0.0; break;
      case CELLC_F16: ((uint16_t *)mask)[i] = kept ? half_scale : 0; break;
      case CELLC_INT32: ((int32_t *)mask)[i] = kept ? (int32_t)scale : 0; break;
      case CELLC_INT64: ((int64_t *)mask)[i] = kept ? (int64_t)scale : 0; break;
      case CELLC_BOOL: ((unsigned char *)mask)[i] = (unsigned char)kept; break;
    }
  }
}

/* Reads {name?, shape, dtype, meaning?} into t; returns 0 or -1. With `dynamic`, a dim may be
 * -1 (the batch), and numel and nbytes count one batch item. */
static int read_tensor(const json *spec, tensor *t, int dynamic) {
  const json *shape = json_get(spec, "shape");
  const char *dtype = json_string(json_get(spec, "dtype"));
  if (!shape || shape->type != J_ARRAY || !dtype) return -1;
  t->info.dtype = (cellc_dtype)-1;
  for (int d = 0; d < N_DTYPES; d++)
    if (!strcmp(dtype, DTYPE_NAMES[d])) t->info.dtype = (cellc_dtype)d;
  if ((int)t->info.dtype < 0) return -1;
  t->info.rank = json_length(shape);
  t->shape = calloc(t->info.rank + 1, sizeof *t->shape);
  if (!t->shape) return -1;
  t->info.numel = 1;
  for (int i = 0; i < t->info.rank; i++) {
    const json *dim = json_at(shape, i);
    if (dim->type != J_NUMBER || dim->number < (dynamic ? -1 : 0)) return -1;
    t->shape[i] = (int64_t)dim->number;
    if (t->shape[i] >= 0) t->info.numel *= t->shape[i];
  }
  t->name = strdup(json_string(json_get(spec, "name")) ? json_string(json_get(spec, "name")) : "");
  const char *meaning = json_string(json_get(spec, "meaning"));
  t->meaning = strdup(meaning ? meaning : "");
  t->info.name = t->name;
  t->info.meaning = t->meaning;
  t->info.shape = t->shape;
  t->info.nbytes = (size_t)t->info.numel * DTYPE_SIZES[t->info.dtype];
  return 0;
}

static void free_tensor(tensor *t) {
  free(t->name);
  free(t->meaning);
  free(t->shape);
}

void cellc_free(cellc_model *model) {
  if (!model) return;
  for (int i = 0; i < model->n_entries; i++) {
    cellc_entry *e = &model->entries[i];
    for (int j = 0; e->inputs && j < e->n_inputs; j++) free_tensor(&e->inputs[j]);
    for (int j = 0; e->outputs && j < e->n_outputs; j++) free_tensor(&e->outputs[j]);
    for (int j = 0; e->hidden && j < e->n_outputs; j++) free(e->hidden[j]);
    for (int j = 0; e->masks && j < e->n_weights; j++) free(e->masks[j]);
    free(e->inputs), free(e->outputs), free(e->weights);
    free(e->updates), free(e->hidden), free(e->masks);
    free(e->name), free(e->symbol), free(e->structure_json);
  }
  for (int i = 0; i < model->n_parameters; i++) {
    free_tensor(&model->parameters[i].spec);
    free(model->parameters[i].data);
  }
  free(model->entries);
  free(model->parameters);
  free(model->manifest_json);
  pthread_mutex_destroy(&model->lock);
  /* The library stays loaded: dlclose under a running call elsewhere would be fatal, and
   * it is shared by every model with the same code (load_code). */
  free(model);
}

static const member *find_member(const member *members, int count, const char *name) {
  for (int i = 0; i < count; i++)
    if (!strcmp(members[i].name, name)) return &members[i];
  return NULL;
}

/* The /proc/cpuinfo flags line ("flags" on x86, "Features" on Arm), or NULL. */
static char *host_cpu_flags(void) {
  FILE *file = fopen("/proc/cpuinfo", "r");
  if (!file) return NULL;
  char *line = NULL, *flags = NULL;
  size_t capacity = 0;
  while (!flags && getline(&line, &capacity, file) > 0) {
    if (!strncmp(line, "flags", 5) || !strncmp(line, "Features", 8)) {
      char *colon = strchr(line, ':');
      if (colon && (flags = malloc(strlen(colon) + 2))) {
        sprintf(flags, " %s", colon + 1); /* " f1 f2 ...\n": search for " name " */
        for (char *c = flags; *c; c++)
          if (*c == '\n' || *c == '\t') *c = ' ';
      }
    }
  }
  free(line);
  fclose(file);
  return flags;
}

static int has_flag(const char *flags, const char *name) {
  size_t length = strlen(name);
  for (const char *p = strstr(flags, name); p; p = strstr(p + 1, name))
    if (p[-1] == ' ' && (p[length] == ' ' || p[length] == 0)) return 1;
  return 0;
}

static int check_target(const json *target, const char *path, char *err, size_t errlen) {
  const char *kind = json_string(json_get(target, "kind"));
  if (!kind || strcmp(kind, "cpu")) {
    set_error(err, errlen, "'%s' targets '%s', which this runtime cannot run (supported: cpu)",
              path, kind ? kind : "?");
    return -1;
  }
#if defined(__x86_64__)
  const char *machine = "x86_64";
#elif defined(__aarch64__)
  const char *machine = "aarch64";
#else
  const char *machine = NULL;
#endif
  const char *triple = json_string(json_get(target, "triple"));
  if (machine && triple && *triple && strncmp(triple, machine, strlen(machine))) {
    set_error(err, errlen, "'%s' was compiled for %s; this machine is %s", path, triple,
              machine);
    return -1;
  }
  const json *features = json_get(target, "cpu_features");
  char *flags = json_length(features) ? host_cpu_flags() : NULL;
  if (!flags) return 0;
  char missing[256] = "";
  for (const json *f = features->child; f; f = f->next) {
    if (f->type == J_STRING && !has_flag(flags, f->string)) {
      if (*missing) strncat(missing, ", ", sizeof missing - strlen(missing) - 1);
      strncat(missing, f->string, sizeof missing - strlen(missing) - 1);
    }
  }
  free(flags);
  if (*missing) {
    set_error(err, errlen, "'%s' needs CPU features this machine lacks: %s", path, missing);
    return -1;
  }
  return 0;
}

/* Copies a .npy member's data after checking its header against the manifest's spec. */
static void *read_npy(const member *m, const tensor *spec) {
  const unsigned char *p = m->data;
  if (m->size < 10 || memcmp(p, "\x93NUMPY", 6)) return NULL;
  size_t header = p[6] == 1 ? le16(p + 8) : le32(p + 8), start = p[6] == 1 ? 10 : 12;
  if (start + header > m->size || m->size - start - header != spec->info.nbytes) return NULL;
  char *text = strndup((const char *)p + start, header);
  int ok = text && strstr(text, NPY_DESCRS[spec->info.dtype]) &&
           strstr(text, "'fortran_order': False");
  free(text);
  void *data = NULL;
  if (!ok || posix_memalign(&data, 64, spec->info.nbytes ? spec->info.nbytes : 1)) return NULL;
  memcpy(data, p + start + header, spec->info.nbytes);
  return data;
}

static int write_all(int fd, const unsigned char *data, size_t size) {
  size_t written = 0;
  while (written < size) {
    ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) return -1;
    written += (size_t)n;
  }
  return 0;
}

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* dlopens the code from a sealed anonymous memory file (memfd) holding exactly its bytes, as
 * /proc/self/fd/N; NULL if that is not possible here. The descriptor is never closed: glibc
 * finds a loaded library by its path first, so a closed descriptor's number, reused by a
 * later memfd, would alias this code (the library is never unloaded either). */
static void *open_in_memory(const member *code) {
  int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = memfd_create("cellc-code", flags | MFD_EXEC); /* executable under memfd_noexec */
  if (fd < 0) fd = memfd_create("cellc-code", flags);    /* kernels before 6.3 */
  if (fd < 0) return NULL;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  void *library = NULL;
  if (write_all(fd, code->data, code->size) == 0) {
    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
    library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  }
  if (!library) close(fd);
  return library;
}

/* The fallback: a file this process creates (O_EXCL) in a new private (0700) directory,
 * dlopened, then removed. */
static void *open_in_private_file(const member *code, const char *where, char *err,
                                  size_t errlen) {
  const char *tmp = getenv("TMPDIR");
  char directory[4096], path[4200];
  snprintf(directory, sizeof directory, "%s/cellc-code-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(directory)) {
    set_error(err, errlen,
              "cannot write the code of '%s' to a private temporary directory: %s (set TMPDIR "
              "to a writable directory)",
              where, strerror(errno));
    return NULL;
  }
  snprintf(path, sizeof path, "%s/code.so", directory);
  void *library = NULL;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
  if (fd >= 0) {
    int written = write_all(fd, code->data, code->size) == 0;
    if (close(fd) == 0 && written) library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!library) set_error(err, errlen, "cannot load the code of '%s': %s", where, dlerror());
  } else {
    set_error(err, errlen, "cannot write the code of '%s': %s", where, strerror(errno));
  }
  unlink(path);
  rmdir(directory);
  return library;
}

/* Loaded code by the sha256 of its bytes, so that the same code loaded twice is one library. */
typedef struct loaded_code {
  char hex[65];
  void *library;
  struct loaded_code *next;
} loaded_code;
static loaded_code *loaded_codes;
static pthread_mutex_t loaded_codes_lock = PTHREAD_MUTEX_INITIALIZER;

/* dlopens exactly the checked bytes of `code`, never a file another process could replace
 * between the check and the load: from memory, else from a private file. */
static void *load_code(const member *code, const char *where, char *err, size_t errlen) {
  char hex[65];
  sha256 h;
  sha256_init(&h);
  sha256_update(&h, code->data, code->size);
  sha256_hex(&h, hex);
  pthread_mutex_lock(&loaded_codes_lock);
  void *library = NULL;
  for (loaded_code *c = loaded_codes; c && !library; c = c->next)
    if (!strcmp(c->hex, hex)) library = c->library;
  if (!library) {
    library = open_in_memory(code);
    if (!library) library = open_in_private_file(code, where, err, errlen);
    loaded_code *c = library ? malloc(sizeof *c) : NULL;
    if (c) {
      memcpy(c->hex, hex, sizeof hex);
      c->library = library;
      c->next = loaded_codes;
      loaded_codes = c;
    }
  }
  pthread_mutex_unlock(&loaded_codes_lock);
  return library;
}

/* Appends "float32[2,3]" to `out`. */
static void print_tensor(FILE *out, const tensor *t) {
  fprintf(out, "%s[", DTYPE_NAMES[t->info.dtype]);
  for (int d = 0; d < t->info.rank; d++)
    fprintf(out, d ? ",%lld" : "%lld", (long long)t->shape[d]);
  fputc(']', out);
}

/* The entry's signature as the manifest describes it, in the format of the code's
 * cellc_signature_NAME (runtime/artifact.py, signature_text); malloc'ed, or NULL. */
static char *manifest_signature(const cellc_entry *e) {
  char *text = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&text, &size);
  if (!out) return NULL;
  for (int j = 0; j < e->n_inputs; j++) print_tensor(out, &e->inputs[j]), fputc(' ', out);
  for (int j = 0; j < e->n_weights; j++)
    print_tensor(out, &e->model->parameters[e->weights[j]].spec), fputc(' ', out);
  fputs("->", out);
  for (int j = 0; j < e->n_outputs; j++) fputc(' ', out), print_tensor(out, &e->outputs[j]);
  fclose(out);
  return text;
}

/* Refuses an entry whose manifest disagrees with the signature its code was built with. */
static int check_signature(const cellc_entry *e, const char *path, char *err, size_t errlen) {
  char name[300];
  snprintf(name, sizeof name, "cellc_signature_%s", e->symbol);
  const char *built = dlsym(e->model->library, name);
  if (!built) {
    set_error(err, errlen,
              "'%s': the code of entry '%s' carries no signature ('%s'), so the manifest cannot "
              "be checked against it (written by an older cellc or not by cellc): recompile "
              "the model",
              path, e->name, name);
    return -1;
  }
  char *expected = manifest_signature(e);
  int same = expected && !strcmp(expected, built);
  if (!same)
    set_error(err, errlen,
              "'%s' does not match its code: entry '%s': the manifest says %s, the code was "
              "built for %s (the manifest was edited after compiling; recompile the model)",
              path, e->name, expected ? expected : "?", built);
  free(expected);
  return same ? 0 : -1;
}

/* Reads the whole file; NULL with a reason on failure. */
static unsigned char *read_file(const char *path, size_t *size, char *err, size_t errlen) {
  FILE *file = fopen(path, "rb");
  unsigned char *blob = NULL;
  long length = -1;
  if (file && fseek(file, 0, SEEK_END) == 0 && (length = ftell(file)) >= 0 &&
      fseek(file, 0, SEEK_SET) == 0 && (blob = malloc(length ? (size_t)length : 1)) &&
      fread(blob, 1, (size_t)length, file) == (size_t)length) {
    fclose(file);
    *size = (size_t)length;
    return blob;
  }
  set_error(err, errlen, "cannot read cellc artifact '%s': %s", path, strerror(errno));
  free(blob);
  if (file) fclose(file);
  return NULL;
}

static int same_type(const tensor *a, const tensor *b) {
  if (a->info.dtype != b->info.dtype || a->info.rank != b->info.rank) return 0;
  for (int d = 0; d < a->info.rank; d++)
    if (a->shape[d] != b->shape[d]) return 0;
  return 1;
}

static void *aligned_buffer(size_t nbytes) {
  void *data = NULL;
  return posix_memalign(&data, 64, nbytes ? nbytes : 1) ? NULL : data;
}

/* Reads which outputs update which parameters (the manifest's "update", checked as the Python
 * runtime checks it) and gives the entry a buffer for each updating output and each dropout
 * mask among its weights. */
static int read_state(cellc_entry *e, const json *outputs, const char *path, char *err,
                      size_t errlen) {
  cellc_model *model = e->model;
  e->updates = calloc(e->n_outputs + 1, sizeof *e->updates);
  e->hidden = calloc(e->n_outputs + 1, sizeof *e->hidden);
  e->masks = calloc(e->n_weights + 1, sizeof *e->masks);
  if (!e->updates || !e->hidden || !e->masks) return -1;
  for (int j = 0; j < e->n_outputs; j++) {
    const json *update = json_get(json_at(outputs, j), "update");
    e->updates[j] = -1;
    if (!update || update->type == J_NULL) {
      if (j != e->n_visible) {
        set_error(err, errlen,
                  "'%s': entry '%s' returns output %d after an output that updates a "
                  "parameter; the C runtime needs the updates last (as cellc writes them)",
                  path, e->name, j);
        return -1;
      }
      e->n_visible++;
      continue;
    }
    const char *name = json_string(update);
    for (int k = 0; name && k < e->n_weights; k++)
      if (!strcmp(model->parameters[e->weights[k]].spec.name, name)) e->updates[j] = e->weights[k];
    if (e->updates[j] < 0) {
      set_error(err, errlen,
                "'%s' has an invalid manifest: entry '%s' output %d updates '%s', not one of its "
                "weights",
                path, e->name, j, name ? name : "?");
      return -1;
    }
    if (!same_type(&e->outputs[j], &model->parameters[e->updates[j]].spec)) {
      set_error(err, errlen,
                "'%s' has an invalid manifest: entry '%s' output %d is not of parameter '%s''s "
                "type",
                path, e->name, j, name);
      return -1;
    }
    if (!(e->hidden[j] = aligned_buffer(e->outputs[j].info.nbytes))) return -1;
    e->stateful = 1;
  }
  for (int k = 0; k < e->n_weights; k++) {
    const parameter *p = &model->parameters[e->weights[k]];
    if (p->keep == 0) continue;
    if (!(e->masks[k] = aligned_buffer(p->spec.info.nbytes))) return -1;
    e->stateful = 1;
  }
  return 0;
}

static int load_entries(cellc_model *model, const json *entries, const json *manifest,
                        const char *path, char *err, size_t errlen) {
  model->n_entries = json_length(entries);
  model->entries = calloc(model->n_entries ? model->n_entries : 1, sizeof *model->entries);
  if (!model->entries) return -1;
  for (int i = 0; i < model->n_entries; i++) {
    const json *spec = json_at(entries, i);
    cellc_entry *e = &model->entries[i];
    const char *name = json_string(json_get(spec, "name"));
    const char *symbol = json_string(json_get(spec, "symbol"));
    const json *inputs = json_get(spec, "inputs"), *outputs = json_get(spec, "outputs");
    const json *weights = json_get(spec, "weights"), *structure = json_get(spec, "structure");
    e->model = model;
    if (!name || !symbol || !inputs || !outputs || !weights || !structure) goto invalid;
    e->name = strdup(name);
    e->symbol = strdup(symbol);
    e->structure_json = strndup(structure->begin, (size_t)(structure->end - structure->begin));
    const json *dynamic = json_get(spec, "dynamic_batch");
    e->dynamic = dynamic && dynamic->type == J_BOOL && dynamic->number != 0;
    e->n_inputs = json_length(inputs);
    e->n_outputs = json_length(outputs);
    e->n_weights = json_length(weights);
    if (e->n_inputs + e->n_weights + e->n_outputs + e->dynamic > CELLC_MAX_ARGS) {
      set_error(err, errlen,
                "'%s': entry '%s' has %d arguments; the C runtime calls at most %d", path, name,
                e->n_inputs + e->n_weights + e->n_outputs + e->dynamic, CELLC_MAX_ARGS);
      e->n_inputs = e->n_outputs = e->n_weights = 0; /* nothing read: nothing to free */
      return -1;
    }
    e->inputs = calloc(e->n_inputs + 1, sizeof *e->inputs);
    e->outputs = calloc(e->n_outputs + 1, sizeof *e->outputs);
    e->weights = calloc(e->n_weights + 1, sizeof *e->weights);
    if (!e->inputs || !e->outputs || !e->weights) return -1;
    for (int j = 0; j < e->n_inputs; j++)
      if (read_tensor(json_at(inputs, j), &e->inputs[j], e->dynamic)) goto invalid;
    for (int j = 0; j < e->n_outputs; j++)
      if (read_tensor(json_at(outputs, j), &e->outputs[j], e->dynamic)) goto invalid;
    for (int j = 0; j < e->n_weights; j++) {
      const char *weight = json_string(json_at(weights, j));
      e->weights[j] = -1;
      for (int k = 0; weight && k < model->n_parameters; k++)
        if (!strcmp(model->parameters[k].spec.name, weight)) e->weights[j] = k;
      if (e->weights[j] < 0) goto invalid;
    }
    if (read_state(e, outputs, path, err, errlen)) return -1;
    e->function = dlsym(model->library, symbol);
    if (!e->function) {
      set_error(err, errlen, "'%s' is corrupt: its code has no symbol '%s' for entry '%s'", path,
                symbol, name);
      return -1;
    }
    if (check_signature(e, path, err, errlen)) return -1;
  }
  (void)manifest;
  return 0;
invalid:
  set_error(err, errlen, "'%s' has an invalid manifest (entry %s)", path,
            model->entries ? "signature" : "list");
  return -1;
}

cellc_model *cellc_load(const char *path, char *err, size_t errlen) {
  size_t size = 0;
  unsigned char *blob = read_file(path, &size, err, errlen);
  if (!blob) return NULL;
  cellc_model *model = NULL;
  member *members = NULL;
  json *manifest = NULL;
  int count = -1;

  size_t mime = sizeof MIMETYPE - 1;
  if (size < 38 + mime || memcmp(blob, "PK\3\4", 4) || memcmp(blob + 30, "mimetype", 8) ||
      memcmp(blob + 38, MIMETYPE, mime)) {
    set_error(err, errlen, "'%s' is not a cellc artifact (it does not start with the cellc magic)",
              path);
    goto fail;
  }
  if ((count = read_members(blob, size, &members, err, errlen, path)) < 0) goto fail;

  const member *manifest_member = find_member(members, count, "manifest.json");
  json_parser parser = {0};
  if (manifest_member) {
    parser.p = (const char *)manifest_member->data;
    parser.end = parser.p + manifest_member->size;
    manifest = parse_value(&parser);
  }
  if (!manifest || manifest->type != J_OBJECT) {
    set_error(err, errlen, "'%s' is corrupt: manifest.json is missing or not JSON", path);
    goto fail;
  }
  const char *format = json_string(json_get(manifest, "format"));
  if (!format || strcmp(format, "cellc-artifact")) {
    set_error(err, errlen, "'%s' is not a cellc artifact (manifest format is not cellc-artifact)",
              path);
    goto fail;
  }
  const json *version = json_get(manifest, "format_version");
  if (!version || version->type != J_NUMBER || version->number != CELLC_FORMAT_VERSION) {
    set_error(err, errlen,
              "'%s' has format_version %g; this runtime reads format_version %d: %s", path,
              version && version->type == J_NUMBER ? version->number : -1.0, CELLC_FORMAT_VERSION,
              version && version->type == J_NUMBER && version->number > CELLC_FORMAT_VERSION
                  ? "upgrade cellc"
                  : "recompile the model");
    goto fail;
  }

  /* Checksum: every member between `mimetype` and `checksum.sha256` (which must be last). */
  if (count < 2 || strcmp(members[count - 1].name, "checksum.sha256")) {
    set_error(err, errlen, "'%s' is corrupt: the last member is not checksum.sha256", path);
    goto fail;
  }
  sha256 h;
  sha256_init(&h);
  for (int i = 0; i < count - 1; i++) {
    if (!strcmp(members[i].name, "mimetype")) continue;
    unsigned char length[8];
    for (int b = 0; b < 8; b++) length[b] = (unsigned char)((uint64_t)members[i].size >> (8 * b));
    sha256_update(&h, members[i].name, strlen(members[i].name) + 1);
    sha256_update(&h, length, 8);
    sha256_update(&h, members[i].data, members[i].size);
  }
  char hex[65];
  sha256_hex(&h, hex);
  if (members[count - 1].size < 64 || memcmp(hex, members[count - 1].data, 64)) {
    set_error(err, errlen,
              "'%s' is corrupt: checksum mismatch (the file was truncated or modified after it "
              "was written)",
              path);
    goto fail;
  }

  if (check_target(json_get(manifest, "target"), path, err, errlen)) goto fail;

  model = calloc(1, sizeof *model);
  if (!model) goto fail;
  pthread_mutex_init(&model->lock, NULL);
  cellc_set_seed(model, entropy(model));
  model->manifest_json = strndup((const char *)manifest_member->data, manifest_member->size);

  const json *stored = json_get(manifest, "weights_stored");
  if (stored && stored->type == J_BOOL && stored->number == 0) {
    set_error(err, errlen,
              "'%s' stores no weights (a cellc cache entry holds code only): load it from "
              "Python with cellc.runtime.load(path, weights=...), or write a complete artifact "
              "with `cellc compile` or cellc.export",
              path);
    goto fail;
  }
  const json *parameters = json_get(manifest, "parameters");
  model->n_parameters = json_length(parameters);
  model->parameters = calloc(model->n_parameters + 1, sizeof *model->parameters);
  for (int i = 0; model->parameters && i < model->n_parameters; i++) {
    parameter *p = &model->parameters[i];
    char name[32];
    snprintf(name, sizeof name, "params/%d.npy", i);
    const member *m = find_member(members, count, name);
    const json *keep = json_get(json_at(parameters, i), "random");
    int mask = keep && keep->type != J_NULL;
    if (read_tensor(json_at(parameters, i), &p->spec, mask)) {
      set_error(err, errlen, "'%s' has an invalid manifest: parameter %d", path, i);
      goto fail;
    }
    for (int d = 0; d < p->spec.info.rank; d++) {
      if (p->spec.shape[d] < 0) {
        set_error(err, errlen,
                  "'%s': parameter '%s' is a dropout mask drawn at each call's batch size (a "
                  "training step compiled for a dynamic batch), which the C runtime does not "
                  "draw; export it at a static batch size or in evaluation mode",
                  path, p->spec.name);
        goto fail;
      }
    }
    if (!m || !(p->data = read_npy(m, &p->spec))) {
      set_error(err, errlen, "'%s' is corrupt: parameter %d (%s) does not match the manifest",
                path, i, name);
      goto fail;
    }
    if (keep && keep->type != J_NULL) {
      if (keep->type != J_NUMBER || !(keep->number > 0 && keep->number <= 1)) {
        set_error(err, errlen,
                  "'%s' has an invalid manifest: parameter %d has random %.*s (a keep "
                  "probability in (0, 1])",
                  path, i, (int)(keep->end - keep->begin), keep->begin);
        goto fail;
      }
      p->keep = keep->number;
    }
  }

  const member *code = find_member(members, count, "code.so");
  if (!code) {
    set_error(err, errlen, "'%s' is corrupt: member 'code.so' is missing", path);
    goto fail;
  }
  if (!(model->library = load_code(code, path, err, errlen))) goto fail;
  if (load_entries(model, json_get(manifest, "entries"), manifest, path, err, errlen)) goto fail;

  json_free(manifest);
  free_members(members, count);
  free(blob);
  return model;

fail:
  json_free(manifest);
  free_members(members, count);
  free(blob);
  cellc_free(model);
  return NULL;
}

int cellc_entry_count(const cellc_model *model) { return model->n_entries; }

const cellc_entry *cellc_entry_at(const cellc_model *model, int index) {
  return index >= 0 && index < model->n_entries ? &model->entries[index] : NULL;
}

const cellc_entry *cellc_entry_find(const cellc_model *model, const char *name) {
  for (int i = 0; i < model->n_entries; i++)
    if (!strcmp(model->entries[i].name, name)) return &model->entries[i];
  return NULL;
}

const char *cellc_entry_name(const cellc_entry *entry) { return entry->name; }
int cellc_entry_num_inputs(const cellc_entry *entry) { return entry->n_inputs; }
int cellc_entry_num_outputs(const cellc_entry *entry) { return entry->n_outputs; }
int cellc_entry_num_visible_outputs(const cellc_entry *entry) { return entry->n_visible; }
const char *cellc_entry_structure_json(const cellc_entry *entry) { return entry->structure_json; }

const cellc_tensor_info *cellc_entry_input(const cellc_entry *entry, int index) {
  return index >= 0 && index < entry->n_inputs ? &entry->inputs[index].info : NULL;
}

const cellc_tensor_info *cellc_entry_output(const cellc_entry *entry, int index) {
  return index >= 0 && index < entry->n_outputs ? &entry->outputs[index].info : NULL;
}

const char *cellc_entry_output_update(const cellc_entry *entry, int index) {
  if (index < 0 || index >= entry->n_outputs || entry->updates[index] < 0) return NULL;
  return entry->model->parameters[entry->updates[index]].spec.name;
}

int cellc_parameter_count(const cellc_model *model) { return model->n_parameters; }

double cellc_parameter_keep_prob(const cellc_model *model, int index) {
  return index >= 0 && index < model->n_parameters ? model->parameters[index].keep : 0;
}

const cellc_tensor_info *cellc_parameter_at(const cellc_model *model, int index) {
  return index >= 0 && index < model->n_parameters ? &model->parameters[index].spec.info : NULL;
}

/* The parameter called `name` if it holds exactly nbytes; NULL with a reason otherwise. */
static parameter *find_parameter(const cellc_model *model, const char *name, size_t nbytes,
                                 char *err, size_t errlen) {
  for (int i = 0; i < model->n_parameters; i++) {
    parameter *p = &model->parameters[i];
    if (strcmp(p->spec.name, name)) continue;
    if (nbytes == p->spec.info.nbytes) return p;
    set_error(err, errlen, "parameter '%s' is %s with %zu bytes, got %zu bytes", name,
              cellc_dtype_name(p->spec.info.dtype), p->spec.info.nbytes, nbytes);
    return NULL;
  }
  set_error(err, errlen, "the model has no parameter '%s'", name);
  return NULL;
}

int cellc_set_parameter(cellc_model *model, const char *name, const void *data, size_t nbytes,
                        char *err, size_t errlen) {
  parameter *p = find_parameter(model, name, nbytes, err, errlen);
  if (!p) return -1;
  pthread_mutex_lock(&model->lock);
  memcpy(p->data, data, nbytes);
  pthread_mutex_unlock(&model->lock);
  return 0;
}

int cellc_get_parameter(const cellc_model *model, const char *name, void *data, size_t nbytes,
                        char *err, size_t errlen) {
  const parameter *p = find_parameter(model, name, nbytes, err, errlen);
  if (!p) return -1;
  /* The lock is the model's mutable state, not its value: a const model can still be read
   * while a training step runs on another thread. */
  pthread_mutex_t *lock = (pthread_mutex_t *)&model->lock;
  pthread_mutex_lock(lock);
  memcpy(data, p->data, nbytes);
  pthread_mutex_unlock(lock);
  return 0;
}

const char *cellc_manifest_json(const cellc_model *model) { return model->manifest_json; }

/* ------------------------------------------------------------------------------------------
 * The call. The entry takes n pointers (inputs, weights, outputs); C cannot build a call of
 * run-time arity, so each arity up to CELLC_MAX_ARGS gets its own correctly typed call. */

typedef void *ptr; /* one pointer parameter */

/* T<n>: n pointer parameter types; A<n>: the first n pointers of a. */
#define T1 ptr
#define A1 a[0]
#define T2 T1, ptr
#define A2 A1, a[1]
#define T3 T2, ptr
#define A3 A2, a[2]
#define T4 T3, ptr
#define A4 A3, a[3]
#define T5 T4, ptr
#define A5 A4, a[4]
#define T6 T5, ptr
#define A6 A5, a[5]
#define T7 T6, ptr
#define A7 A6, a[6]
#define T8 T7, ptr
#define A8 A7, a[7]
#define T9 T8, ptr
#define A9 A8, a[8]
#define T10 T9, ptr
#define A10 A9, a[9]
#define T11 T10, ptr
#define A11 A10, a[10]
#define T12 T11, ptr
#define A12 A11, a[11]
#define T13 T12, ptr
#define A13 A12, a[12]
#define T14 T13, ptr
#define A14 A13, a[13]
#define T15 T14, ptr
#define A15 A14, a[14]
#define T16 T15, ptr
#define A16 A15, a[15]
#define T17 T16, ptr
#define A17 A16, a[16]
#define T18 T17, ptr
#define A18 A17, a[17]
#define T19 T18, ptr
#define A19 A18, a[18]
#define T20 T19, ptr
#define A20 A19, a[19]
#define T21 T20, ptr
#define A21 A20, a[20]
#define T22 T21, ptr
#define A22 A21, a[21]
#define T23 T22, ptr
#define A23 A22, a[22]
#define T24 T23, ptr
#define A24 A23, a[23]
#define T25 T24, ptr
#define A25 A24, a[24]
#define T26 T25, ptr
#define A26 A25, a[25]
#define T27 T26, ptr
#define A27 A26, a[26]
#define T28 T27, ptr
#define A28 A27, a[27]
#define T29 T28, ptr
#define A29 A28, a[28]
#define T30 T29, ptr
#define A30 A29, a[29]
#define T31 T30, ptr
#define A31 A30, a[30]
#define T32 T31, ptr
#define A32 A31, a[31]
#define T33 T32, ptr
#define A33 A32, a[32]
#define T34 T33, ptr
#define A34 A33, a[33]
#define T35 T34, ptr
#define A35 A34, a[34]
#define T36 T35, ptr
#define A36 A35, a[35]
#define T37 T36, ptr
#define A37 A36, a[36]
#define T38 T37, ptr
#define A38 A37, a[37]
#define T39 T38, ptr
#define A39 A38, a[38]
#define T40 T39, ptr
#define A40 A39, a[39]
#define T41 T40, ptr
#define A41 A40, a[40]
#define T42 T41, ptr
#define A42 A41, a[41]
#define T43 T42, ptr
#define A43 A42, a[42]
#define T44 T43, ptr
#define A44 A43, a[43]
#define T45 T44, ptr
#define A45 A44, a[44]
#define T46 T45, ptr
#define A46 A45, a[45]
#define T47 T46, ptr
#define A47 A46, a[46]
#define T48 T47, ptr
#define A48 A47, a[47]
#define T49 T48, ptr
#define A49 A48, a[48]
#define T50 T49, ptr
#define A50 A49, a[49]
#define T51 T50, ptr
#define A51 A50, a[50]
#define T52 T51, ptr
#define A52 A51, a[51]
#define T53 T52, ptr
#define A53 A52, a[52]
#define T54 T53, ptr
#define A54 A53, a[53]
#define T55 T54, ptr
#define A55 A54, a[54]
#define T56 T55, ptr
#define A56 A55, a[55]
#define T57 T56, ptr
#define A57 A56, a[56]
#define T58 T57, ptr
#define A58 A57, a[57]
#define T59 T58, ptr
#define A59 A58, a[58]
#define T60 T59, ptr
#define A60 A59, a[59]
#define T61 T60, ptr
#define A61 A60, a[60]
#define T62 T61, ptr
#define A62 A61, a[61]
#define T63 T62, ptr
#define A63 A62, a[62]
#define T64 T63, ptr
#define A64 A63, a[63]
#define CALL(n)                       \
  case n:                             \
    ((void (*)(T##n))function)(A##n); \
    return;

/* The batch size, passed where a pointer would be: on x86-64 and AArch64 an int64_t argument
 * and a pointer argument take the same register or stack slot, so a function of pointers and
 * a trailing int64_t is called through the same pointer-only prototypes. */
static void *batch_argument(int64_t batch) { return (void *)(intptr_t)batch; }

static void call_pointers(void *function, void *const *a, int n) {
  switch (n) {
    CALL(1) CALL(2) CALL(3) CALL(4) CALL(5) CALL(6) CALL(7) CALL(8)
    CALL(9) CALL(10) CALL(11) CALL(12) CALL(13) CALL(14) CALL(15) CALL(16)
    CALL(17) CALL(18) CALL(19) CALL(20) CALL(21) CALL(22) CALL(23) CALL(24)
    CALL(25) CALL(26) CALL(27) CALL(28) CALL(29) CALL(30) CALL(31) CALL(32)
    CALL(33) CALL(34) CALL(35) CALL(36) CALL(37) CALL(38) CALL(39) CALL(40)
    CALL(41) CALL(42) CALL(43) CALL(44) CALL(45) CALL(46) CALL(47) CALL(48)
    CALL(49) CALL(50) CALL(51) CALL(52) CALL(53) CALL(54) CALL(55) CALL(56)
    CALL(57) CALL(58) CALL(59) CALL(60) CALL(61) CALL(62) CALL(63) CALL(64)
  }
}

/* A training step or a call with dropout: fresh masks in place of those weights, the loader's
 * buffers for the updating outputs, whose values become the parameters' after the call. */
static void call_stateful(const cellc_entry *entry, void **arguments, int n,
                          void *const *outputs, int64_t batch) {
  cellc_model *model = entry->model;
  pthread_mutex_lock(&model->lock);
  for (int i = 0; i < entry->n_weights; i++) {
    const parameter *p = &model->parameters[entry->weights[i]];
    if (entry->masks[i]) draw_mask(model, p, entry->masks[i]);
    arguments[n++] = entry->masks[i] ? entry->masks[i] : p->data;
  }
  for (int i = 0; i < entry->n_outputs; i++)
    arguments[n++] = i < entry->n_visible ? outputs[i] : entry->hidden[i];
  if (entry->dynamic) arguments[n++] = batch_argument(batch);
  call_pointers(entry->function, arguments, n);
  for (int i = entry->n_visible; i < entry->n_outputs; i++) {
    parameter *p = &model->parameters[entry->updates[i]];
    memcpy(p->data, entry->hidden[i], p->spec.info.nbytes);
  }
  pthread_mutex_unlock(&model->lock);
}

void cellc_call_batch(const cellc_entry *entry, int64_t batch, const void *const *inputs,
                      void *const *outputs) {
  void *arguments[CELLC_MAX_ARGS];
  int n = 0;
  if (batch < 1) batch = 1;
  for (int i = 0; i < entry->n_inputs; i++) arguments[n++] = (void *)inputs[i];
  if (entry->stateful) {
    call_stateful(entry, arguments, n, outputs, batch);
    return;
  }
  for (int i = 0; i < entry->n_weights; i++)
    arguments[n++] = entry->model->parameters[entry->weights[i]].data;
  for (int i = 0; i < entry->n_outputs; i++) arguments[n++] = outputs[i];
  if (entry->dynamic) arguments[n++] = batch_argument(batch);
  call_pointers(entry->function, arguments, n);
}

void cellc_call(const cellc_entry *entry, const void *const *inputs, void *const *outputs) {
  cellc_call_batch(entry, 1, inputs, outputs);
}

int cellc_entry_dynamic_batch(const cellc_entry *entry) { return entry->dynamic; }
