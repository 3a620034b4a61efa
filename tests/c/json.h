/* A small JSON reader for the vector runner: parses a document into a tree
 * that remembers each value's source text (so a vector's log is passed to
 * the C ABI exactly as written), and compares trees semantically (object
 * keys in any order, numbers by value). Not a general-purpose library:
 * inputs are trusted test files. */
#ifndef USAGEBOOK_TEST_JSON_H
#define USAGEBOOK_TEST_JSON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
  jtype type;
  const char *src; /* this value's text in the document */
  size_t src_len;
  int boolean;
  double num;
  char *str;           /* J_STR: decoded UTF-8, NUL-terminated */
  size_t n;            /* J_ARR / J_OBJ: element count */
  struct jval *items;  /* elements, or member values */
  char **keys;         /* J_OBJ: member names */
} jval;

typedef struct {
  const char *p, *end;
  const char *error;
} jparser;

static void j_ws(jparser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static int j_fail(jparser *ps, const char *msg) {
  if (!ps->error) ps->error = msg;
  return 0;
}

static void j_put_utf8(char **out, uint32_t cp) {
  char *o = *out;
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xC0 | (cp >> 6));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xE0 | (cp >> 12));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (char)(0xF0 | (cp >> 18));
    *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *o++ = (char)(0x80 | (cp & 0x3F));
  }
  *out = o;
}

static int j_hex4(jparser *ps, uint32_t *cp) {
  if (ps->end - ps->p < 4) return j_fail(ps, "short \\u escape");
  *cp = 0;
  for (int i = 0; i < 4; i++) {
    char c = *ps->p++;
    *cp <<= 4;
    if (c >= '0' && c <= '9') *cp |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') *cp |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') *cp |= (uint32_t)(c - 'A' + 10);
    else return j_fail(ps, "bad \\u escape");
  }
  return 1;
}

/* Parses a string at ps->p (on the opening quote) into a new buffer. */
static int j_string(jparser *ps, char **out) {
  ps->p++;
  /* Decoded text is never longer than the source. */
  char *buf = (char *)malloc((size_t)(ps->end - ps->p) + 1), *o = buf;
  if (!buf) return j_fail(ps, "out of memory");
  while (ps->p < ps->end && *ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p++;
    if (c < 0x20) { free(buf); return j_fail(ps, "control character in string"); }
    if (c != '\\') { *o++ = (char)c; continue; }
    if (ps->p >= ps->end) break;
    char e = *ps->p++;
    switch (e) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '/': *o++ = '/'; break;
      case 'b': *o++ = '\b'; break;
      case 'f': *o++ = '\f'; break;
      case 'n': *o++ = '\n'; break;
      case 'r': *o++ = '\r'; break;
      case 't': *o++ = '\t'; break;
      case 'u': {
        uint32_t cp, lo;
        if (!j_hex4(ps, &cp)) { free(buf); return 0; }
        if (cp >= 0xD800 && cp < 0xDC00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
          ps->p += 2;
          if (!j_hex4(ps, &lo)) { free(buf); return 0; }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        j_put_utf8(&o, cp);
        break;
      }
      default: free(buf); return j_fail(ps, "bad escape");
    }
  }
  if (ps->p >= ps->end) { free(buf); return j_fail(ps, "unterminated string"); }
  ps->p++;
  *o = 0;
  *out = buf;
  return 1;
}

static void json_free(jval *v);

static int j_value(jparser *ps, jval *v, int depth) {
  memset(v, 0, sizeof *v);
  j_ws(ps);
  if (depth > 64) return j_fail(ps, "nested too deeply");
  if (ps->p >= ps->end) return j_fail(ps, "unexpected end");
  v->src = ps->p;
  char c = *ps->p;
  if (c == '{' || c == '[') {
    int obj = c == '{';
    v->type = obj ? J_OBJ : J_ARR;
    ps->p++;
    size_t cap = 0;
    j_ws(ps);
    if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
      ps->p++;
    } else {
      for (;;) {
        if (v->n == cap) {
          cap = cap ? cap * 2 : 8;
          v->items = (jval *)realloc(v->items, cap * sizeof *v->items);
          if (obj) v->keys = (char **)realloc(v->keys, cap * sizeof *v->keys);
        }
        if (obj) {
          j_ws(ps);
          if (ps->p >= ps->end || *ps->p != '"') return j_fail(ps, "expected a member name");
          if (!j_string(ps, &v->keys[v->n])) return 0;
          j_ws(ps);
          if (ps->p >= ps->end || *ps->p != ':') { free(v->keys[v->n]); return j_fail(ps, "expected ':'"); }
          ps->p++;
        }
        if (!j_value(ps, &v->items[v->n], depth + 1)) {
          if (obj) free(v->keys[v->n]);
          json_free(&v->items[v->n]);
          return 0;
        }
        v->n++;
        j_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) { ps->p++; break; }
        return j_fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
  } else if (c == '"') {
    v->type = J_STR;
    if (!j_string(ps, &v->str)) return 0;
  } else if (c == 't' && ps->end - ps->p >= 4 && !strncmp(ps->p, "true", 4)) {
    v->type = J_BOOL, v->boolean = 1, ps->p += 4;
  } else if (c == 'f' && ps->end - ps->p >= 5 && !strncmp(ps->p, "false", 5)) {
    v->type = J_BOOL, ps->p += 5;
  } else if (c == 'n' && ps->end - ps->p >= 4 && !strncmp(ps->p, "null", 4)) {
    v->type = J_NULL, ps->p += 4;
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    const char *s = ps->p;
    while (ps->p < ps->end && strchr("+-0123456789.eE", *ps->p)) ps->p++;
    char tmp[64];
    size_t len = (size_t)(ps->p - s);
    if (len >= sizeof tmp) return j_fail(ps, "number too long");
    memcpy(tmp, s, len);
    tmp[len] = 0;
    char *endp;
    v->type = J_NUM;
    v->num = strtod(tmp, &endp);
    if (*endp) return j_fail(ps, "bad number");
  } else {
    return j_fail(ps, "unexpected character");
  }
  v->src_len = (size_t)(ps->p - v->src);
  return 1;
}

/* Parses `len` bytes; on failure returns 0 and sets *error. */
static int json_parse(const char *text, size_t len, jval *out, const char **error) {
  jparser ps = {text, text + len, NULL};
  int ok = j_value(&ps, out, 0);
  if (ok) {
    j_ws(&ps);
    if (ps.p != ps.end) ok = j_fail(&ps, "trailing characters");
  }
  if (!ok) {
    json_free(out);
    *error = ps.error ? ps.error : "parse error";
  }
  return ok;
}

static void json_free(jval *v) {
  for (size_t i = 0; i < v->n; i++) {
    json_free(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->str);
  memset(v, 0, sizeof *v);
}

/* A member of an object, or NULL (also when `obj` is not an object). */
static const jval *json_get(const jval *obj, const char *key) {
  if (!obj || obj->type != J_OBJ) return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
  return NULL;
}

/* The value's source text as a new NUL-terminated string (free it). */
static char *json_text(const jval *v) {
  char *s = (char *)malloc(v->src_len + 1);
  if (!s) return NULL;
  memcpy(s, v->src, v->src_len);
  s[v->src_len] = 0;
  return s;
}

/* Semantic equality: objects as unordered maps, numbers by value. */
static int json_equal(const jval *a, const jval *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case J_NULL: return 1;
    case J_BOOL: return a->boolean == b->boolean;
    case J_NUM: return a->num == b->num;
    case J_STR: return strcmp(a->str, b->str) == 0;
    case J_ARR:
      if (a->n != b->n) return 0;
      for (size_t i = 0; i < a->n; i++)
        if (!json_equal(&a->items[i], &b->items[i])) return 0;
      return 1;
    case J_OBJ:
      if (a->n != b->n) return 0;
      for (size_t i = 0; i < a->n; i++) {
        const jval *other = json_get(b, a->keys[i]);
        if (!other || !json_equal(&a->items[i], other)) return 0;
      }
      return 1;
  }
  return 0;
}

#endif
