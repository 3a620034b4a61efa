/* Runs the shared test vectors (every tests/vectors/NAME.json; format in
 * tests/vectors/README.md) through the C ABI (B4). Every step is a C ABI
 * call on a tracker opened with an injected clock that reads the step's
 * `at`. Each vector runs twice: once recording logs with
 * usagebook_tracker_track_json, once with usagebook_tracker_track wherever
 * the log fits its scalar arguments (track_json otherwise).
 *
 * Usage: vectors <vector.json>...  (prints "<N> passed, <M> failed") */
#include "usagebook.h"
#include "check.h"
#include "json.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int64_t now_ms;
static int scalar_tracks, json_tracks;
static int64_t vector_clock(void *ctx) { return atomic_load((_Atomic int64_t *)ctx); }

static const char *error_kind(usagebook_status s) {
  switch (s) {
    case USAGEBOOK_OK: return "ok";
    case USAGEBOOK_NULL_ARGUMENT: return "null_argument";
    case USAGEBOOK_INVALID_UTF8: return "invalid_utf8";
    case USAGEBOOK_INVALID_ARGUMENT: return "invalid_argument";
    case USAGEBOOK_IO_ERROR: return "io";
    case USAGEBOOK_LOCKED: return "locked";
    case USAGEBOOK_CLOSED: return "closed";
    case USAGEBOOK_UNSUPPORTED_FORMAT: return "unsupported_format";
    case USAGEBOOK_PANIC: return "panic";
  }
  return "unknown";
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0, got;
  char *buf = (char *)malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = (char *)realloc(buf, cap *= 2);
  }
  fclose(f);
  *len = n;
  return buf;
}

/* "2025-01-04T14:13:20.000Z" -> epoch ms; -2 if it is not that form. */
static int64_t iso_to_ms(const char *s) {
  int y, mo, d, h, mi, sec, ms;
  char z;
  if (strlen(s) != 24 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &sec, &ms, &z) != 8 ||
      z != 'Z')
    return -2;
  /* Days from civil (H. Hinnant). */
  y -= mo <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + ms;
}

static int is_uint(const jval *v) {
  return v && v->type == J_NUM && v->num >= 0 && v->num <= 9007199254740992.0 && v->num == floor(v->num);
}

/* usagebook_tracker_track when the log fits its arguments exactly: a string
 * bridgeId, three integer tokens, an integer or absent durationMs, a known or
 * absent status, and nothing else. Returns -1 when it does not fit. */
static int track_scalar(usagebook_tracker *t, const jval *log, usagebook_status *out) {
  const jval *bridge = json_get(log, "bridgeId"), *usage = json_get(log, "usage");
  const jval *dur = json_get(log, "durationMs"), *status = json_get(log, "status");
  if (!bridge || bridge->type != J_STR || strlen(bridge->str) != bridge->src_len - 2) return -1;
  if (!usage || usage->type != J_OBJ || usage->n != 3) return -1;
  const jval *p = json_get(usage, "promptTokens"), *c = json_get(usage, "completionTokens"),
             *tt = json_get(usage, "totalTokens");
  if (!is_uint(p) || !is_uint(c) || !is_uint(tt)) return -1;
  int64_t duration = -1;
  if (dur && dur->type != J_NULL) {
    if (!is_uint(dur)) return -1;
    duration = (int64_t)dur->num;
  }
  usagebook_usage_status st = USAGEBOOK_USAGE_SUCCESS;
  if (status) {
    if (status->type != J_STR) return -1;
    if (strcmp(status->str, "error") == 0) st = USAGEBOOK_USAGE_ERROR;
    else if (strcmp(status->str, "success") != 0) return -1;
  }
  size_t known = 2 + (dur != NULL) + (status != NULL);
  if (log->n != known) return -1;
  scalar_tracks++;
  *out = usagebook_tracker_track(t, bridge->str, (uint64_t)p->num, (uint64_t)c->num, (uint64_t)tt->num,
                                 duration, st);
  return 0;
}

static int check_stats(const char *ctx, const usagebook_stats *s, const jval *want) {
  static const char *fields[] = {"totalRequests",   "promptTokens",    "completionTokens",
                                 "totalTokens",     "averageTokensPerRequest", "errorCount",
                                 "cacheReadTokens", "cacheWriteTokens", "reasoningTokens",
                                 "lastUsedAt"};
  uint64_t got[] = {s->total_requests,    s->prompt_tokens,      s->completion_tokens,
                    s->total_tokens,      0,                     s->error_count,
                    s->cache_read_tokens, s->cache_write_tokens, s->reasoning_tokens};
  int ok = 1;
  if (!want || want->type != J_OBJ) {
    fprintf(stderr, "%s: stats expect is not an object\n", ctx);
    return 0;
  }
  for (size_t i = 0; i < want->n; i++) {
    int known = 0;
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) known |= !strcmp(want->keys[i], fields[f]);
    if (!known) {
      fprintf(stderr, "%s: stats field %s is not in usagebook_stats\n", ctx, want->keys[i]);
      ok = 0;
    }
  }
  for (size_t f = 0; f < sizeof got / sizeof *got; f++) {
    const jval *w = json_get(want, fields[f]);
    if (!w || w->type != J_NUM) {
      fprintf(stderr, "%s: expect lacks %s\n", ctx, fields[f]);
      ok = 0;
    } else if (f == 4) {
      if (fabs(s->average_tokens_per_request - w->num) >= 1e-9) {
        fprintf(stderr, "%s: averageTokensPerRequest %.17g, want %.17g\n", ctx, s->average_tokens_per_request,
                w->num);
        ok = 0;
      }
    } else if ((double)got[f] != w->num) {
      fprintf(stderr, "%s: %s %llu, want %.17g\n", ctx, fields[f], (unsigned long long)got[f], w->num);
      ok = 0;
    }
  }
  const jval *last = json_get(want, "lastUsedAt");
  int64_t want_last = -1;
  if (last) {
    want_last = last->type == J_STR ? iso_to_ms(last->str) : -2;
    if (want_last == -2) {
      fprintf(stderr, "%s: lastUsedAt must be an ISO string (absent when none)\n", ctx);
      ok = 0;
    }
  }
  if (s->last_used_at_ms != want_last) {
    fprintf(stderr, "%s: last_used_at_ms %lld, want %lld\n", ctx, (long long)s->last_used_at_ms,
            (long long)want_last);
    ok = 0;
  }
  return ok;
}

static void run_vector(const char *path, const jval *v, int scalar) {
  const jval *kind = json_get(v, "tracker"), *options = json_get(v, "options"), *steps = json_get(v, "steps");
  const char *mode = scalar ? "track" : "track_json";
  usagebook_tracker *t = NULL;
  atomic_store(&now_ms, 0);
  if (!kind || (kind->type == J_STR && strcmp(kind->str, "memory") == 0)) {
    char *opts = options && options->type != J_NULL ? json_text(options) : NULL;
    CHECK_STATUS(usagebook_tracker_open_in_memory_with_clock(opts, vector_clock, (void *)&now_ms, &t),
                 USAGEBOOK_OK);
    free(opts);
  } else if (kind->type == J_STR && strcmp(kind->str, "noop") == 0) {
    CHECK_STATUS(usagebook_tracker_open_noop(&t), USAGEBOOK_OK);
  } else {
    CHECK(0, "%s: unknown tracker kind", path);
  }
  if (!t) return;
  CHECK(steps && steps->type == J_ARR, "%s: steps", path);
  for (size_t i = 0; steps && steps->type == J_ARR && i < steps->n; i++) {
    const jval *step = &steps->items[i];
    const jval *op = json_get(step, "op"), *at = json_get(step, "at"), *bridge = json_get(step, "bridgeId");
    const char *bridge_id = bridge && bridge->type == J_STR ? bridge->str : NULL;
    char ctx[600];
    snprintf(ctx, sizeof ctx, "%s step %zu (%s, %s)", path, i, op && op->type == J_STR ? op->str : "?", mode);
    if (at && at->type == J_NUM) atomic_store(&now_ms, (int64_t)at->num);
    if (!op || op->type != J_STR) {
      CHECK(0, "%s: no op", ctx);
    } else if (strcmp(op->str, "track") == 0) {
      const jval *log = json_get(step, "log"), *err = json_get(step, "error");
      usagebook_status got;
      if (!log) {
        CHECK(0, "%s: no log", ctx);
        continue;
      }
      if (!scalar || log->type != J_OBJ || track_scalar(t, log, &got) != 0) {
        char *text = json_text(log);
        json_tracks++;
        got = usagebook_tracker_track_json(t, text);
        free(text);
      }
      const char *want = err && err->type == J_STR ? err->str : "ok";
      CHECK(strcmp(error_kind(got), want) == 0, "%s: got %s, want %s", ctx, error_kind(got), want);
    } else if (strcmp(op->str, "close") == 0) {
      /* In C, close also frees the handle: nothing can follow it. */
      CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
      return;
    } else if (strcmp(op->str, "clear") == 0) {
      const jval *older = json_get(step, "olderThan");
      int64_t cutoff = older && older->type == J_NUM ? (int64_t)older->num : -1;
      CHECK(cutoff >= -1, "%s: negative olderThan cannot be passed to the C ABI", ctx);
      CHECK_STATUS(usagebook_tracker_clear_logs(t, cutoff), USAGEBOOK_OK);
    } else if (strcmp(op->str, "stats") == 0) {
      usagebook_stats s;
      usagebook_status st = usagebook_tracker_stats(t, bridge_id, &s);
      CHECK(st == USAGEBOOK_OK, "%s: %s", ctx, usagebook_status_str(st));
      if (st == USAGEBOOK_OK) CHECK(check_stats(ctx, &s, json_get(step, "expect")), "%s: stats differ", ctx);
    } else if (strcmp(op->str, "logs") == 0) {
      char *out = NULL;
      usagebook_status st = usagebook_tracker_logs_json(t, bridge_id, &out);
      CHECK(st == USAGEBOOK_OK, "%s: %s", ctx, usagebook_status_str(st));
      if (st != USAGEBOOK_OK) continue;
      jval got;
      const char *perr = NULL;
      const jval *want = json_get(step, "expect");
      if (!json_parse(out, strlen(out), &got, &perr)) {
        CHECK(0, "%s: logs_json is not JSON (%s): %s", ctx, perr, out);
      } else {
        char *want_text = want ? json_text(want) : NULL;
        CHECK(want && json_equal(&got, want), "%s: logs differ\n  got:  %s\n  want: %s", ctx, out,
              want_text ? want_text : "(missing)");
        free(want_text);
        json_free(&got);
      }
      usagebook_string_free(out);
    } else {
      CHECK(0, "%s: unknown op", ctx);
    }
  }
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
}

int main(int argc, char **argv) {
  int files = 0;
  for (int a = 1; a < argc; a++) {
    size_t len = 0;
    char *text = read_file(argv[a], &len);
    if (!text) {
      CHECK(0, "cannot read %s", argv[a]);
      continue;
    }
    jval v;
    const char *err = NULL;
    if (!json_parse(text, len, &v, &err)) {
      CHECK(0, "%s is not valid JSON: %s", argv[a], err);
    } else {
      run_vector(argv[a], &v, 0);
      run_vector(argv[a], &v, 1);
      json_free(&v);
      files++;
    }
    free(text);
  }
  printf("vectors: %d files, %d logs through usagebook_tracker_track_json, %d through usagebook_tracker_track\n",
         files, json_tracks, scalar_tracks);
  return check_report("vectors (C)");
}
