/* The C ABI from C (B1): every tracker function (the ledger's are in
 * test_ledger.c), including NULL pointers, invalid UTF-8, bad JSON, unknown
 * options, a locked directory (T11), close and reopen (T9),
 * track/stats/logs/clear/flush (T2-T5, T8), health (X2), the no-op and
 * in-memory trackers (T12), clock injection and threads.
 *
 * Usage: test_api <empty scratch directory> */
#define _POSIX_C_SOURCE 200809L
#include "usagebook.h"
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAD_UTF8 "op\xff" "enai"

static char base[4096];

static const char *dir(const char *name) {
  static char buf[4200];
  snprintf(buf, sizeof buf, "%s/%s", base, name);
  return buf;
}

static int64_t fixed_clock(void *ctx) { return atomic_load((_Atomic int64_t *)ctx); }

/* A sentinel that a failed call must leave in an out-parameter. */
#define SENTINEL_TRACKER ((usagebook_tracker *)(uintptr_t)0x5e57)
#define SENTINEL_STRING ((char *)(uintptr_t)0x5e57)

static void test_version_and_statuses(void) {
  CHECK(strcmp(usagebook_version(), USAGEBOOK_VERSION) == 0, "loaded %s, header %s",
        usagebook_version(), USAGEBOOK_VERSION);
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", USAGEBOOK_VERSION_MAJOR, USAGEBOOK_VERSION_MINOR,
           USAGEBOOK_VERSION_PATCH);
  CHECK(strcmp(want, USAGEBOOK_VERSION) == 0, "%s", want);

  usagebook_status all[] = {USAGEBOOK_OK,      USAGEBOOK_NULL_ARGUMENT, USAGEBOOK_INVALID_UTF8,
                            USAGEBOOK_INVALID_ARGUMENT, USAGEBOOK_IO_ERROR, USAGEBOOK_LOCKED,
                            USAGEBOOK_CLOSED,  USAGEBOOK_UNSUPPORTED_FORMAT, USAGEBOOK_PANIC,
                            USAGEBOOK_BUDGET_EXCEEDED};
  for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) {
    CHECK(all[i] == i, "status %u has number %u: numbers are fixed", i, (unsigned)all[i]);
    const char *s = usagebook_status_str(all[i]);
    CHECK(s != NULL && strncmp(s, "USAGEBOOK_", 10) == 0, "%s", s ? s : "(null)");
    for (unsigned j = 0; j < i; j++)
      CHECK(strcmp(s, usagebook_status_str(all[j])) != 0, "%u and %u share a description", i, j);
  }
  CHECK_CONTAINS(usagebook_status_str(USAGEBOOK_LOCKED), "LOCKED");
  CHECK(strcmp(usagebook_status_str(999), "unknown usagebook_status") == 0, "out of range");
  CHECK(strcmp(usagebook_status_str(UINT32_MAX), "unknown usagebook_status") == 0, "max");
}

static void test_last_error(void) {
  usagebook_tracker *t = NULL;
  CHECK(strcmp(usagebook_last_error_message(), "") == 0, "empty before any failure");
  CHECK_STATUS(usagebook_tracker_open_in_memory(NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "out must not be NULL");
  CHECK_CONTAINS(usagebook_last_error_message(), "out"); /* reading does not clear */
  CHECK_STATUS(usagebook_tracker_open_in_memory(NULL, &t), USAGEBOOK_OK);
  CHECK(strcmp(usagebook_last_error_message(), "") == 0, "cleared by a success");
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
}

static void test_in_memory(void) {
  usagebook_tracker *t = SENTINEL_TRACKER;
  /* Options: bad JSON, not an object, unknown key, file-only key, bad type, bad UTF-8. */
  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"maxLogs\":", &t), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "JSON");
  CHECK_STATUS(usagebook_tracker_open_in_memory("[1,2]", &t), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "object");
  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"maxLog\":3}", &t), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "maxLog");
  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"persistLogs\":true}", &t),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "persistLogs");
  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"maxLogs\":\"3\"}", &t), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "maxLogs");
  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"maxLogs\":0}", &t), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"x\":\"" BAD_UTF8 "\"}", &t), USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "options_json");
  CHECK(t == SENTINEL_TRACKER, "out written on failure");

  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"maxLogs\":2}", &t), USAGEBOOK_OK);
  CHECK(t != NULL && t != SENTINEL_TRACKER, "handle");

  /* track: NULL handle, NULL / empty / non-UTF-8 bridge, bad status. */
  CHECK_STATUS(usagebook_tracker_track(NULL, "openai", 1, 1, 2, -1, USAGEBOOK_USAGE_SUCCESS),
               USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "t must not be NULL");
  CHECK_STATUS(usagebook_tracker_track(t, NULL, 1, 1, 2, -1, USAGEBOOK_USAGE_SUCCESS),
               USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "bridge_id");
  CHECK_STATUS(usagebook_tracker_track(t, "", 1, 1, 2, -1, USAGEBOOK_USAGE_SUCCESS),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "bridgeId");
  CHECK_STATUS(usagebook_tracker_track(t, BAD_UTF8, 1, 1, 2, -1, USAGEBOOK_USAGE_SUCCESS),
               USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "bridge_id");
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 1, 1, 2, -1, 2), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "status");
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 1, 1, 2, -1, (usagebook_usage_status)-1),
               USAGEBOOK_INVALID_ARGUMENT);

  /* track_json: NULL, bad JSON, missing / wrong fields, bad UTF-8. */
  CHECK_STATUS(usagebook_tracker_track_json(t, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_track_json(NULL, "{}"), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":"), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "JSON");
  CHECK_STATUS(usagebook_tracker_track_json(
                   t, "{\"bridgeId\":\"a\",\"usage\":{\"promptTokens\":1,\"completionTokens\":1}}"),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "totalTokens");
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":\"a\",\"usage\":{\"promptTokens\":1,"
                                               "\"completionTokens\":1,\"totalTokens\":2},\"status\":\"ok\"}"),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "status");
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":\"" BAD_UTF8 "\"}"), USAGEBOOK_INVALID_UTF8);

  usagebook_stats s;
  memset(&s, 0x5a, sizeof s);
  usagebook_stats untouched = s;
  CHECK_STATUS(usagebook_tracker_stats(NULL, NULL, &s), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_stats(t, BAD_UTF8, &s), USAGEBOOK_INVALID_UTF8);
  CHECK(memcmp(&s, &untouched, sizeof s) == 0, "stats written on failure");
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 0 && s.last_used_at_ms == -1 && s.average_tokens_per_request == 0.0,
        "refused logs recorded nothing: %llu", (unsigned long long)s.total_requests);

  /* Three good logs with maxLogs 2: the list is trimmed, the totals are not (T4). */
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 10, 5, 15, 120, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":\"anthropic\",\"usage\":{\"promptTokens\":7,"
                                               "\"completionTokens\":3,\"totalTokens\":10},\"durationMs\":"
                                               "33.5,\"status\":\"error\"}"),
               USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 1, 1, 5, -1, USAGEBOOK_USAGE_ERROR), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 3 && s.prompt_tokens == 18 && s.completion_tokens == 9 &&
            s.total_tokens == 30 && s.error_count == 2,
        "totals %llu %llu", (unsigned long long)s.total_requests, (unsigned long long)s.total_tokens);
  CHECK(s.average_tokens_per_request == 10.0, "average %f", s.average_tokens_per_request);
  CHECK(s.last_used_at_ms > 1700000000000LL, "last used %lld", (long long)s.last_used_at_ms);
  CHECK_STATUS(usagebook_tracker_stats(t, "openai", &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 2 && s.total_tokens == 20 && s.average_tokens_per_request == 10.0, "openai");
  CHECK_STATUS(usagebook_tracker_stats(t, "", &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 3, "\"\" means all");
  CHECK_STATUS(usagebook_tracker_stats(t, "nobody", &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 0 && s.last_used_at_ms == -1, "unknown bridge is empty");

  char *json = SENTINEL_STRING;
  CHECK_STATUS(usagebook_tracker_logs_json(NULL, NULL, &json), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_logs_json(t, NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_logs_json(t, BAD_UTF8, &json), USAGEBOOK_INVALID_UTF8);
  CHECK(json == SENTINEL_STRING, "logs written on failure");
  CHECK_STATUS(usagebook_tracker_logs_json(t, NULL, &json), USAGEBOOK_OK);
  CHECK(json != SENTINEL_STRING && json[0] == '[', "array");
  CHECK_CONTAINS(json, "\"id\":\"llm_log_2_");
  CHECK_CONTAINS(json, "\"durationMs\":33.5");
  CHECK_CONTAINS(json, "\"id\":\"llm_log_3_");
  CHECK(strstr(json, "llm_log_1_") == NULL, "maxLogs 2 keeps the newest: %s", json);
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_logs_json(t, "anthropic", &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"status\":\"error\"");
  CHECK(strstr(json, "openai") == NULL, "filtered: %s", json);
  usagebook_string_free(json);

  CHECK_STATUS(usagebook_tracker_flush(NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_flush(t), USAGEBOOK_OK);

  CHECK_STATUS(usagebook_tracker_health_json(NULL, &json), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_health_json(t, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_health_json(t, &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"kind\":\"memory\"");
  CHECK_CONTAINS(json, "\"retainedLogs\":2");
  usagebook_string_free(json);

  /* O1: the Prometheus exposition, with the totals the stats report. */
  CHECK_STATUS(usagebook_tracker_metrics_text(NULL, &json), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_metrics_text(t, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_metrics_text(t, &json), USAGEBOOK_OK);
  {
    usagebook_stats a;
    char want[160];
    CHECK_STATUS(usagebook_tracker_stats(t, "anthropic", &a), USAGEBOOK_OK);
    snprintf(want, sizeof want, "\nusagebook_tracker_requests_total{bridge=\"anthropic\"} %llu\n",
             (unsigned long long)a.total_requests);
    CHECK_CONTAINS(json, want);
    snprintf(want, sizeof want,
             "\nusagebook_tracker_tokens_total{bridge=\"anthropic\",type=\"input\"} %llu\n",
             (unsigned long long)a.prompt_tokens);
    CHECK_CONTAINS(json, want);
    CHECK_CONTAINS(json, "# TYPE usagebook_tracker_errors_total counter\n");
  }
  usagebook_string_free(json);

  CHECK_STATUS(usagebook_tracker_clear_logs(NULL, -1), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_clear_logs(t, 0), USAGEBOOK_OK); /* nothing is older than 1970 */
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 3, "clear(0) kept everything");
  CHECK_STATUS(usagebook_tracker_clear_logs(t, -1), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 0 && s.total_tokens == 0 && s.last_used_at_ms == -1, "clear all");
  CHECK_STATUS(usagebook_tracker_logs_json(t, NULL, &json), USAGEBOOK_OK);
  CHECK(strcmp(json, "[]") == 0, "%s", json);
  usagebook_string_free(json);

  /* A tracker that returned errors is still closable; close(NULL) is a no-op. */
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_close(NULL), USAGEBOOK_OK);
  usagebook_string_free(NULL);
}

static void test_in_memory_with_clock(void) {
  _Atomic int64_t now = 1736000000000LL;
  usagebook_tracker *t = SENTINEL_TRACKER;
  CHECK_STATUS(usagebook_tracker_open_in_memory_with_clock(NULL, NULL, (void *)&now, &t),
               USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "now_ms");
  CHECK_STATUS(usagebook_tracker_open_in_memory_with_clock("{\"flushIntervalMs\":5}", fixed_clock,
                                                           (void *)&now, &t),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK(t == SENTINEL_TRACKER, "out written on failure");
  CHECK_STATUS(usagebook_tracker_open_in_memory_with_clock(NULL, fixed_clock, (void *)&now, NULL),
               USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open_in_memory_with_clock("", fixed_clock, (void *)&now, &t), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 10, 5, 15, 120, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  atomic_store(&now, 1736000000500LL);
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 1, 1, 2, 0, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  char *json = NULL;
  CHECK_STATUS(usagebook_tracker_logs_json(t, "openai", &json), USAGEBOOK_OK);
  CHECK(json && strcmp(json,
                       "[{\"id\":\"llm_log_1_1736000000000\",\"timestamp\":\"2025-01-04T14:13:20.000Z\","
                       "\"bridgeId\":\"openai\",\"usage\":{\"promptTokens\":10,\"completionTokens\":5,"
                       "\"totalTokens\":15},\"durationMs\":120,\"status\":\"success\"},"
                       "{\"id\":\"llm_log_2_1736000000500\",\"timestamp\":\"2025-01-04T14:13:20.500Z\","
                       "\"bridgeId\":\"openai\",\"usage\":{\"promptTokens\":1,\"completionTokens\":1,"
                       "\"totalTokens\":2},\"durationMs\":0,\"status\":\"success\"}]") == 0,
        "T7 lines: %s", json ? json : "(null)");
  usagebook_string_free(json);
  usagebook_stats s;
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK(s.last_used_at_ms == 1736000000500LL, "%lld", (long long)s.last_used_at_ms);
  /* clearLogs(olderThan) keeps logs at exactly olderThan (T5). */
  CHECK_STATUS(usagebook_tracker_clear_logs(t, 1736000000500LL), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 1 && s.total_tokens == 2, "%llu", (unsigned long long)s.total_requests);
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
}

static void test_noop(void) {
  usagebook_tracker *t = NULL;
  CHECK_STATUS(usagebook_tracker_open_noop(NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open_noop(&t), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 1, 2, 3, 4, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(t, "", 1, 2, 3, 4, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_track_json(t, "{}"), USAGEBOOK_INVALID_ARGUMENT);
  usagebook_stats s;
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 0 && s.last_used_at_ms == -1, "noop records nothing");
  char *json = NULL;
  CHECK_STATUS(usagebook_tracker_logs_json(t, NULL, &json), USAGEBOOK_OK);
  CHECK(json && strcmp(json, "[]") == 0, "%s", json ? json : "(null)");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_health_json(t, &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"kind\":\"noop\"");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_clear_logs(t, -1), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_flush(t), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
}

static void test_file_backed(void) {
  const char *opts = "{\"persistLogs\":true,\"flushEveryNLogs\":1000,\"flushIntervalMs\":600000}";
  char *d = strdup(dir("file"));
  usagebook_tracker *a = SENTINEL_TRACKER, *b = SENTINEL_TRACKER;
  CHECK_STATUS(usagebook_tracker_open(NULL, NULL, &a), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "base_dir");
  CHECK_STATUS(usagebook_tracker_open(d, NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open("/tmp/" BAD_UTF8, NULL, &a), USAGEBOOK_INVALID_UTF8);
  CHECK_STATUS(usagebook_tracker_open("", NULL, &a), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open(d, "{\"flushEvery\":1}", &a), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "flushEvery");
  CHECK_STATUS(usagebook_tracker_open(d, "{\"durability\":\"disk\"}", &a), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "durability");
  CHECK_STATUS(usagebook_tracker_open(d, "not json", &a), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open(d, "{\"persistLogs\":\"" BAD_UTF8 "\"}", &a), USAGEBOOK_INVALID_UTF8);
  CHECK(a == SENTINEL_TRACKER, "out written on failure");
  /* A file where the directory should be: an I/O error naming it. */
  char *f = strdup(dir("plainfile"));
  FILE *fp = fopen(f, "w");
  if (fp) fclose(fp);
  CHECK_STATUS(usagebook_tracker_open(f, NULL, &a), USAGEBOOK_IO_ERROR);
  CHECK_CONTAINS(usagebook_last_error_message(), "plainfile");
  free(f);

  CHECK_STATUS(usagebook_tracker_open(d, opts, &a), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_open(d, opts, &b), USAGEBOOK_LOCKED);
  CHECK_CONTAINS(usagebook_last_error_message(), "locked");
  CHECK(b == SENTINEL_TRACKER, "out written on failure");

  CHECK_STATUS(usagebook_tracker_track(a, "openai", 10, 5, 15, 120, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(a, "anthropic", 7, 3, 10, -1, USAGEBOOK_USAGE_ERROR), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track_json(a, "{\"bridgeId\":\"openai\",\"usage\":{\"promptTokens\":1,"
                                               "\"completionTokens\":1,\"totalTokens\":2}}"),
               USAGEBOOK_OK);
  char *health = NULL;
  CHECK_STATUS(usagebook_tracker_health_json(a, &health), USAGEBOOK_OK);
  CHECK_CONTAINS(health, "\"kind\":\"file\"");
  CHECK_CONTAINS(health, "\"queueDepth\":3");
  usagebook_string_free(health);
  CHECK_STATUS(usagebook_tracker_flush(a), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_health_json(a, &health), USAGEBOOK_OK);
  CHECK_CONTAINS(health, "\"queueDepth\":0");
  usagebook_string_free(health);
  CHECK_STATUS(usagebook_tracker_track(a, "openai", 100, 50, 150, 9, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);

  usagebook_stats before, after;
  char *logs_before = NULL, *logs_after = NULL;
  CHECK_STATUS(usagebook_tracker_stats(a, NULL, &before), USAGEBOOK_OK);
  CHECK(before.total_requests == 4 && before.total_tokens == 177 && before.error_count == 1, "totals");
  CHECK_STATUS(usagebook_tracker_logs_json(a, NULL, &logs_before), USAGEBOOK_OK);
  /* Close is the final flush (T8): the fourth log was never flushed explicitly. */
  CHECK_STATUS(usagebook_tracker_close(a), USAGEBOOK_OK);

  CHECK_STATUS(usagebook_tracker_open(d, opts, &b), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_stats(b, NULL, &after), USAGEBOOK_OK);
  CHECK(memcmp(&before, &after, sizeof before) == 0, "reopen shows the same totals: %llu vs %llu",
        (unsigned long long)before.total_requests, (unsigned long long)after.total_requests);
  CHECK_STATUS(usagebook_tracker_logs_json(b, NULL, &logs_after), USAGEBOOK_OK);
  CHECK(logs_before && logs_after && strcmp(logs_before, logs_after) == 0, "same logs:\n%s\n%s",
        logs_before ? logs_before : "", logs_after ? logs_after : "");
  usagebook_string_free(logs_before);
  usagebook_string_free(logs_after);
  /* Ids continue after a restart (T2). */
  CHECK_STATUS(usagebook_tracker_track(b, "openai", 1, 0, 1, -1, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_logs_json(b, NULL, &logs_after), USAGEBOOK_OK);
  CHECK_CONTAINS(logs_after, "\"id\":\"llm_log_5_");
  usagebook_string_free(logs_after);
  CHECK_STATUS(usagebook_tracker_clear_logs(b, -1), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_stats(b, "openai", &after), USAGEBOOK_OK);
  CHECK(after.total_requests == 0, "cleared");
  CHECK_STATUS(usagebook_tracker_close(b), USAGEBOOK_OK);
  free(d);
}

/* The cache and reasoning parts (issue 9): any SDK's usage JSON or T1 with
 * parts through track_json; summed in usagebook_stats, in the logs' JSON
 * only when not zero, and kept across a restart (journal and snapshot). */
static void test_parts(void) {
  const char *opts = "{\"persistLogs\":true,\"durability\":\"process\"}";
  char *d = strdup(dir("parts"));
  usagebook_tracker *t = NULL;
  CHECK_STATUS(usagebook_tracker_open(d, opts, &t), USAGEBOOK_OK);
  /* Anthropic: 200 plain + 5000 written + 1000 read = 6200 prompt tokens. */
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":\"anthropic\",\"usage\":{\"input_tokens\":200,"
                                               "\"output_tokens\":50,\"cache_creation_input_tokens\":5000,"
                                               "\"cache_read_input_tokens\":1000}}"),
               USAGEBOOK_OK);
  /* OpenAI Chat Completions with cached and reasoning tokens. */
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":\"openai\",\"usage\":{\"prompt_tokens\":1200,"
                                               "\"completion_tokens\":300,\"total_tokens\":1500,"
                                               "\"prompt_tokens_details\":{\"cached_tokens\":1000},"
                                               "\"completion_tokens_details\":{\"reasoning_tokens\":200}}}"),
               USAGEBOOK_OK);
  /* T1 with parts, and the scalar call (no parts). */
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":\"openai\",\"usage\":{\"promptTokens\":10,"
                                               "\"completionTokens\":5,\"totalTokens\":15,\"cacheWriteTokens\":4}}"),
               USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 1, 1, 2, -1, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  /* A part above its total, or above 32 bits, is refused naming the field. */
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":\"a\",\"usage\":{\"promptTokens\":1,"
                                               "\"completionTokens\":1,\"totalTokens\":2,\"reasoningTokens\":2}}"),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "reasoningTokens");
  CHECK_STATUS(usagebook_tracker_track_json(t, "{\"bridgeId\":\"a\",\"usage\":{\"promptTokens\":9999999999,"
                                               "\"completionTokens\":1,\"totalTokens\":2,\"cacheReadTokens\":4294967296}}"),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "cacheReadTokens");
  usagebook_stats s, again;
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 4 && s.prompt_tokens == 7411, "%llu %llu", (unsigned long long)s.total_requests,
        (unsigned long long)s.prompt_tokens);
  CHECK(s.cache_read_tokens == 2000 && s.cache_write_tokens == 5004 && s.reasoning_tokens == 200,
        "parts %llu %llu %llu", (unsigned long long)s.cache_read_tokens, (unsigned long long)s.cache_write_tokens,
        (unsigned long long)s.reasoning_tokens);
  CHECK_STATUS(usagebook_tracker_stats(t, "anthropic", &s), USAGEBOOK_OK);
  CHECK(s.prompt_tokens == 6200 && s.cache_read_tokens == 1000 && s.cache_write_tokens == 5000 &&
            s.reasoning_tokens == 0,
        "anthropic %llu", (unsigned long long)s.prompt_tokens);
  char *json = NULL;
  CHECK_STATUS(usagebook_tracker_logs_json(t, "anthropic", &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"usage\":{\"promptTokens\":6200,\"completionTokens\":50,\"totalTokens\":6250,"
                       "\"cacheReadTokens\":1000,\"cacheWriteTokens\":5000}");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &s), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_open(d, opts, &t), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_stats(t, NULL, &again), USAGEBOOK_OK);
  CHECK(memcmp(&s, &again, sizeof s) == 0, "parts survive a restart: %llu vs %llu",
        (unsigned long long)s.cache_read_tokens, (unsigned long long)again.cache_read_tokens);
  CHECK_STATUS(usagebook_tracker_logs_json(t, "openai", &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"cacheReadTokens\":1000,\"reasoningTokens\":200}");
  CHECK_CONTAINS(json, "\"totalTokens\":15,\"cacheWriteTokens\":4}");
  CHECK_CONTAINS(json, "\"usage\":{\"promptTokens\":1,\"completionTokens\":1,\"totalTokens\":2},");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
  free(d);
}

static void test_file_with_clock(void) {
  _Atomic int64_t now = 1736000000000LL;
  char *d = strdup(dir("clocked"));
  usagebook_tracker *t = SENTINEL_TRACKER;
  CHECK_STATUS(usagebook_tracker_open_with_clock(d, NULL, NULL, NULL, &t), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open_with_clock(NULL, NULL, fixed_clock, (void *)&now, &t),
               USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open_with_clock(d, "{\"maxLogs\":-1}", fixed_clock, (void *)&now, &t),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK(t == SENTINEL_TRACKER, "out written on failure");
  CHECK_STATUS(usagebook_tracker_open_with_clock(d, "{\"persistLogs\":true}", fixed_clock, (void *)&now, &t),
               USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(t, "openai", 3, 4, 7, 1, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_flush(t), USAGEBOOK_OK);
  char *json = NULL;
  CHECK_STATUS(usagebook_tracker_logs_json(t, NULL, &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"id\":\"llm_log_1_1736000000000\",\"timestamp\":\"2025-01-04T14:13:20.000Z\"");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_health_json(t, &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"lastFlushAt\":\"2025-01-04T14:13:20.000Z\"");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
  /* The stats file on disk carries the injected time (T7). */
  char path[4300];
  snprintf(path, sizeof path, "%s/llm-usage/usage-stats.json", d);
  FILE *fp = fopen(path, "r");
  CHECK(fp != NULL, "%s exists", path);
  if (fp) {
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    fclose(fp);
    CHECK_CONTAINS(buf, "perBridge");
    CHECK_CONTAINS(buf, "openai");
  }
  free(d);
}

/* The last error is per thread; one handle is shared by several threads. */
struct worker {
  usagebook_tracker *t;
  int ok;
  char message[256];
};

static void *track_many(void *arg) {
  struct worker *w = (struct worker *)arg;
  w->ok = 1;
  for (int i = 0; i < 200; i++)
    if (usagebook_tracker_track(w->t, "shared", 1, 1, 2, i, USAGEBOOK_USAGE_SUCCESS) != USAGEBOOK_OK)
      w->ok = 0;
  /* This thread's last error is its own: empty after its successes. */
  snprintf(w->message, sizeof w->message, "%s", usagebook_last_error_message());
  return NULL;
}

static void test_threads(void) {
  usagebook_tracker *t = NULL;
  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"maxLogs\":10}", &t), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(t, "", 1, 1, 2, -1, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_INVALID_ARGUMENT);
  struct worker w[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    w[i].t = t;
    pthread_create(&th[i], NULL, track_many, &w[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK(w[i].ok, "thread %d tracked", i);
    CHECK(w[i].message[0] == 0, "thread %d sees its own last error: %s", i, w[i].message);
  }
  CHECK_CONTAINS(usagebook_last_error_message(), "bridgeId"); /* ours is untouched */
  usagebook_stats s;
  CHECK_STATUS(usagebook_tracker_stats(t, "shared", &s), USAGEBOOK_OK);
  CHECK(s.total_requests == 800 && s.total_tokens == 1600, "%llu", (unsigned long long)s.total_requests);
  CHECK_STATUS(usagebook_tracker_close(t), USAGEBOOK_OK);
}

/* Git sync (issue 13): two trackers standing for two devices share one bare
 * remote that refuses force-pushes; each sees both in the merged stats. */
static void test_git_sync(void) {
  char cmd[8192], remote[1200], opts_a[8192], opts_b[8192];
  snprintf(remote, sizeof remote, "%.1000s", dir("git-remote.git"));
  snprintf(cmd, sizeof cmd,
           "git init -q --bare '%s' && git -C '%s' config receive.denyNonFastForwards true"
           " && git -C '%s' config receive.denyDeletes true",
           remote, remote, remote);
  CHECK(system(cmd) == 0, "git init --bare %s", remote);
  snprintf(opts_a, sizeof opts_a,
           "{\"gitSync\":{\"repoDir\":\"%.4000s\",\"remote\":\"%.1000s\",\"syncInterval\":\"0m\"}}",
           dir("git-a-repo"), remote);
  snprintf(opts_b, sizeof opts_b,
           "{\"gitSync\":{\"repoDir\":\"%.4000s\",\"remote\":\"%.1000s\",\"syncInterval\":\"0m\"}}",
           dir("git-b-repo"), remote);
  char *da = strdup(dir("git-a")), *db = strdup(dir("git-b"));
  usagebook_tracker *a = NULL, *b = NULL, *m = NULL;
  CHECK_STATUS(usagebook_tracker_open(da, opts_a, &a), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_open(db, opts_b, &b), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(a, "openai/gpt-4o", 10, 5, 15, 1, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(a, "openai/gpt-4o", 10, 5, 15, 1, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track(b, "anthropic/claude", 1, 2, 3, 1, USAGEBOOK_USAGE_ERROR), USAGEBOOK_OK);
  char *json = NULL;
  CHECK_STATUS(usagebook_tracker_sync(a, &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"pushed\":true");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_sync(b, NULL), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_sync(a, NULL), USAGEBOOK_OK);
  json = NULL;
  CHECK_STATUS(usagebook_tracker_merged_stats(a, &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "{\"total\":{\"totalRequests\":3,");
  CHECK_CONTAINS(json, "\"anthropic/claude\":{\"totalRequests\":1,");
  usagebook_string_free(json);
  /* The health of a tracker with gitSync carries the sync's state. */
  json = NULL;
  CHECK_STATUS(usagebook_tracker_health_json(a, &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"gitSync\":{");
  CHECK_CONTAINS(json, "\"failures\":0");
  CHECK_CONTAINS(json, "\"pendingCommits\":0");
  CHECK_CONTAINS(json, "\"syncs\":2");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_tracker_merged_stats(a, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_sync(NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  /* A tracker without gitSync refuses, naming the option. */
  CHECK_STATUS(usagebook_tracker_open_in_memory(NULL, &m), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_sync(m, NULL), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "gitSync");
  CHECK_STATUS(usagebook_tracker_close(m), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_close(a), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_close(b), USAGEBOOK_OK);
  free(da);
  free(db);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <scratch directory>\n", argv[0]);
    return 2;
  }
  snprintf(base, sizeof base, "%s", argv[1]);
  test_version_and_statuses();
  test_last_error();
  test_in_memory();
  test_in_memory_with_clock();
  test_noop();
  test_file_backed();
  test_parts();
  test_file_with_clock();
  test_threads();
  test_git_sync();
  return check_report("test_api (C)");
}
