/* The budget ledger through the C ABI (L1-L12): NULL pointers, invalid
 * UTF-8, bad options and events named in the message, hold -> commit and
 * hold -> cancel accounting, a hold settled once, strict budget refusal
 * (0.9 + 0.2 > 1.0; equality passes), sync writes, close and reopen,
 * pricing, hold expiry, timezones, health, and threads sharing a budget.
 *
 * Usage: test_ledger <empty scratch directory> */
#define _POSIX_C_SOURCE 200809L
#include "usagebook.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BAD_UTF8 "op\xff" "enai"
#define SENTINEL_LEDGER ((usagebook_ledger *)(uintptr_t)0x5e57)
#define SENTINEL_HOLD ((usagebook_hold *)(uintptr_t)0x5e57)
#define SENTINEL_STRING ((char *)(uintptr_t)0x5e57)

static char base[4096];

/* A fresh path under the scratch directory (the caller frees it). */
static char *path_of(const char *name) {
  size_t n = strlen(base) + strlen(name) + 2;
  char *p = (char *)malloc(n);
  snprintf(p, n, "%s/%s", base, name);
  return p;
}

static double spend(usagebook_ledger *l, const char *scope, const char *profile) {
  double usd = -1.0;
  CHECK_STATUS(usagebook_ledger_spend_today(l, scope, profile, &usd), USAGEBOOK_OK);
  return usd;
}

static double reserved(usagebook_ledger *l, const char *scope, const char *profile) {
  double usd = -1.0;
  CHECK_STATUS(usagebook_ledger_reserved_today(l, scope, profile, &usd), USAGEBOOK_OK);
  return usd;
}

static usagebook_hold *reserve(usagebook_ledger *l, const char *trace, double usd) {
  usagebook_hold *h = NULL;
  CHECK_STATUS(usagebook_ledger_reserve(l, trace, "openai", "gpt-4o", usd, NULL, &h), USAGEBOOK_OK);
  return h;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_statuses(void) {
  CHECK(USAGEBOOK_BUDGET_EXCEEDED == 9, "status numbers are fixed");
  CHECK_CONTAINS(usagebook_status_str(USAGEBOOK_BUDGET_EXCEEDED), "USAGEBOOK_BUDGET_EXCEEDED");
}

static void test_open_errors(void) {
  char *p = path_of("errors.db");
  usagebook_ledger *l = SENTINEL_LEDGER;
  CHECK_STATUS(usagebook_ledger_open(NULL, NULL, &l), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "path must not be NULL");
  CHECK_STATUS(usagebook_ledger_open(p, NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "out");
  CHECK_STATUS(usagebook_ledger_open("/tmp/" BAD_UTF8 ".db", NULL, &l), USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "path");
  CHECK_STATUS(usagebook_ledger_open(p, "{\"mode\":\"" BAD_UTF8 "\"}", &l), USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "options_json");
  CHECK_STATUS(usagebook_ledger_open("", NULL, &l), USAGEBOOK_INVALID_ARGUMENT);
  /* Unknown option key, wrong type, bad value, bad JSON: named. */
  CHECK_STATUS(usagebook_ledger_open(p, "{\"dailyBudget\":1}", &l), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "\"dailyBudget\"");
  CHECK_CONTAINS(usagebook_last_error_message(), "dailyBudgetUsd"); /* lists the known keys */
  CHECK_STATUS(usagebook_ledger_open(p, "{\"batchSize\":\"10\"}", &l), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "batchSize");
  CHECK_STATUS(usagebook_ledger_open(p, "{\"mode\":\"strict\"}", &l), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "mode");
  CHECK_STATUS(usagebook_ledger_open(p, "{\"timezone\":\"Mars/Olympus\"}", &l), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "Mars/Olympus");
  CHECK_STATUS(usagebook_ledger_open(p, "{\"dailyBudgetUsd\":-1}", &l), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "daily_budget");
  CHECK_STATUS(usagebook_ledger_open(p, "{\"mode\":", &l), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "JSON");
  CHECK(l == SENTINEL_LEDGER, "out written on failure");
  /* A directory where the database should be: an I/O error. */
  CHECK(usagebook_ledger_open(base, NULL, &l) != USAGEBOOK_OK, "a directory is not a database");
  CHECK(l == SENTINEL_LEDGER, "out written on failure");
  free(p);
}

static void test_argument_errors(void) {
  char *p = path_of("args.db");
  usagebook_ledger *l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, "", &l), USAGEBOOK_OK);

  /* write_event_json: NULLs, bad UTF-8, bad JSON, and each bad field named. */
  CHECK_STATUS(usagebook_ledger_write_event_json(NULL, "{}", false), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "l must not be NULL");
  CHECK_STATUS(usagebook_ledger_write_event_json(l, NULL, false), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "event_json");
  CHECK_STATUS(usagebook_ledger_write_event_json(l, "{\"event_type\":\"commit\",\"trace_id\":\"" BAD_UTF8 "\"}", false),
               USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "event_json");
  static const struct {
    const char *json, *field;
  } bad[] = {
      {"{\"event_type\":", "JSON"},
      {"[]", "object"},
      {"{\"trace_id\":\"t\"}", "event_type"},
      {"{\"event_type\":\"refund\",\"trace_id\":\"t\"}", "event_type"},
      {"{\"event_type\":\"commit\"}", "trace_id"},
      {"{\"event_type\":\"commit\",\"trace_id\":\"t\",\"model\":\"m\"}", "provider"},
      {"{\"event_type\":\"commit\",\"trace_id\":\"t\",\"provider\":\"p\",\"model\":\"m\",\"cost_est_usd\":\"1\"}",
       "cost_est_usd"},
      {"{\"event_type\":\"commit\",\"trace_id\":\"t\",\"provider\":\"p\",\"model\":\"m\",\"cost_actual_usd\":-1}",
       "cost_actual_usd"},
      {"{\"event_type\":\"commit\",\"trace_id\":\"t\",\"provider\":\"p\",\"model\":\"m\",\"usage\":{\"tokens_in\":-5}}",
       "usage.tokens_in"},
      {"{\"event_type\":\"commit\",\"trace_id\":\"t\",\"provider\":\"p\",\"model\":\"m\",\"status\":\"fine\"}",
       "status"},
      {"{\"event_type\":\"commit\",\"trace_id\":\"t\",\"provider\":\"p\",\"model\":\"m\",\"timestamp\":-3}",
       "timestamp"},
  };
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_STATUS(usagebook_ledger_write_event_json(l, bad[i].json, i % 2 == 0), USAGEBOOK_INVALID_ARGUMENT);
    CHECK_CONTAINS(usagebook_last_error_message(), bad[i].field);
  }
  CHECK(spend(l, NULL, NULL) == 0.0, "refused events recorded nothing");

  /* reserve: NULLs, bad UTF-8 (named), bad amounts; the hold stays untouched. */
  usagebook_hold *h = SENTINEL_HOLD;
  CHECK_STATUS(usagebook_ledger_reserve(NULL, "t", "openai", "gpt-4o", 0.1, NULL, &h), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_reserve(l, NULL, "openai", "gpt-4o", 0.1, NULL, &h), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "trace_id");
  CHECK_STATUS(usagebook_ledger_reserve(l, "t", NULL, "gpt-4o", 0.1, NULL, &h), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "provider");
  CHECK_STATUS(usagebook_ledger_reserve(l, "t", "openai", NULL, 0.1, NULL, &h), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "model");
  CHECK_STATUS(usagebook_ledger_reserve(l, "t", "openai", "gpt-4o", 0.1, NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "out");
  CHECK_STATUS(usagebook_ledger_reserve(l, "t", BAD_UTF8, "gpt-4o", 0.1, NULL, &h), USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "provider");
  CHECK_STATUS(usagebook_ledger_reserve(l, "t", "openai", "gpt-4o", 0.1, BAD_UTF8, &h), USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "profile_id");
  CHECK_STATUS(usagebook_ledger_reserve(l, "", "openai", "gpt-4o", 0.1, NULL, &h), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "trace_id");
  CHECK_STATUS(usagebook_ledger_reserve(l, "t", "openai", "gpt-4o", NAN, NULL, &h), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "estimate_usd");
  CHECK_STATUS(usagebook_ledger_reserve(l, "t", "openai", "gpt-4o", INFINITY, NULL, &h), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_reserve(l, "t", "openai", "gpt-4o", -0.5, NULL, &h), USAGEBOOK_INVALID_ARGUMENT);
  CHECK(h == SENTINEL_HOLD, "hold written on failure");
  CHECK(reserved(l, NULL, NULL) == 0.0, "refused holds reserve nothing");

  /* commit / cancel / info / free with NULLs. */
  h = reserve(l, "t", 0.5);
  CHECK_STATUS(usagebook_ledger_commit(NULL, h, NULL, 0.1), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_commit(l, NULL, NULL, 0.1), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "hold must not be NULL");
  CHECK_STATUS(usagebook_ledger_commit(l, h, BAD_UTF8, 0.1), USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "usage_json");
  CHECK_STATUS(usagebook_ledger_commit(l, h, "{\"tokens_in\":", 0.1), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "usage_json");
  CHECK_STATUS(usagebook_ledger_commit(l, h, "[1]", 0.1), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "object");
  CHECK_STATUS(usagebook_ledger_commit(l, h, "{\"tokens_out\":\"many\"}", 0.1), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "usage.tokens_out");
  CHECK_STATUS(usagebook_ledger_commit(l, h, NULL, INFINITY), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "cost_actual_usd");
  CHECK_STATUS(usagebook_ledger_cancel(NULL, h), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_cancel(l, NULL), USAGEBOOK_NULL_ARGUMENT);
  /* None of the refused commits settled the hold: it is still open. */
  CHECK(spend(l, NULL, NULL) == 0.0, "refused commits spent nothing");
  CHECK(reserved(l, NULL, NULL) == 0.5, "hold still open");
  char *json = SENTINEL_STRING;
  CHECK_STATUS(usagebook_hold_info_json(NULL, &json), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_hold_info_json(h, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK(json == SENTINEL_STRING, "info written on failure");
  CHECK_STATUS(usagebook_hold_info_json(h, &json), USAGEBOOK_OK);
  CHECK_CONTAINS(json, "\"settled\":false");
  usagebook_string_free(json);
  CHECK_STATUS(usagebook_ledger_cancel(l, h), USAGEBOOK_OK);
  usagebook_hold_free(h);
  usagebook_hold_free(NULL);

  /* spend / reserved: NULLs, bad scope, bad UTF-8; outputs untouched. */
  double usd = 42.0;
  CHECK_STATUS(usagebook_ledger_spend_today(NULL, NULL, NULL, &usd), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_spend_today(l, NULL, NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "out_usd");
  CHECK_STATUS(usagebook_ledger_spend_today(l, "team:x", NULL, &usd), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "scope");
  CHECK_STATUS(usagebook_ledger_spend_today(l, "provider:", NULL, &usd), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_spend_today(l, "model:" BAD_UTF8, NULL, &usd), USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "scope");
  CHECK_STATUS(usagebook_ledger_reserved_today(NULL, NULL, NULL, &usd), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_reserved_today(l, NULL, NULL, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_reserved_today(l, "everything", NULL, &usd), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_reserved_today(l, NULL, BAD_UTF8, &usd), USAGEBOOK_INVALID_UTF8);
  CHECK_CONTAINS(usagebook_last_error_message(), "profile_id");
  CHECK(usd == 42.0, "out written on failure");

  CHECK_STATUS(usagebook_ledger_flush(NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_health_json(NULL, &json), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_health_json(l, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_ledger_close(NULL), USAGEBOOK_OK);
  free(p);
}

/* Seed bug: a hold and its commit were both counted (L6). */
static void test_hold_commit_cancel(const char *mode) {
  char name[64], opts[128];
  snprintf(name, sizeof name, "holds-%s.db", mode);
  snprintf(opts, sizeof opts, "{\"mode\":\"%s\"}", mode);
  char *p = path_of(name);
  usagebook_ledger *l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, opts, &l), USAGEBOOK_OK);

  usagebook_hold *h = reserve(l, "trace-1", 0.10);
  CHECK(reserved(l, NULL, NULL) == 0.10, "%s: reserved %f", mode, reserved(l, NULL, NULL));
  CHECK(spend(l, NULL, NULL) == 0.0, "%s: a hold is not spend", mode);
  char *info = NULL;
  CHECK_STATUS(usagebook_hold_info_json(h, &info), USAGEBOOK_OK);
  CHECK_CONTAINS(info, "\"trace_id\":\"trace-1\"");
  CHECK_CONTAINS(info, "\"amount_usd\":0.1");
  CHECK_CONTAINS(info, "\"provider\":\"openai\"");
  CHECK_CONTAINS(info, "\"model\":\"gpt-4o\"");
  CHECK_CONTAINS(info, "\"profile_id\":null");
  CHECK_CONTAINS(info, "\"event_id\":\"");
  CHECK_CONTAINS(info, "\"expires_at\":\"20");
  CHECK_CONTAINS(info, "\"settled\":false");
  usagebook_string_free(info);

  CHECK_STATUS(usagebook_ledger_commit(l, h, "{\"tokens_in\":1200,\"tokens_out\":300}", 0.04), USAGEBOOK_OK);
  CHECK(spend(l, NULL, NULL) == 0.04, "%s: spend %f", mode, spend(l, NULL, NULL));
  CHECK(reserved(l, NULL, NULL) == 0.0, "%s: reserved %f", mode, reserved(l, NULL, NULL));
  CHECK(spend(l, "all", NULL) == 0.04, "all");
  CHECK(spend(l, "provider:openai", NULL) == 0.04, "provider scope");
  CHECK(spend(l, "model:gpt-4o", NULL) == 0.04, "model scope");
  CHECK(spend(l, "model:other", NULL) == 0.0, "other model");
  CHECK(spend(l, "provider:anthropic", NULL) == 0.0, "other provider");

  /* Settling twice is refused, whichever way, and adds nothing. */
  CHECK_STATUS(usagebook_ledger_commit(l, h, NULL, 0.04), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "already settled");
  CHECK_STATUS(usagebook_ledger_cancel(l, h), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "already settled");
  CHECK(spend(l, NULL, NULL) == 0.04, "double settle refused");
  CHECK_STATUS(usagebook_hold_info_json(h, &info), USAGEBOOK_OK);
  CHECK_CONTAINS(info, "\"settled\":true");
  usagebook_string_free(info);
  usagebook_hold_free(h);

  /* A cancelled hold: spend unchanged, reservation released. */
  usagebook_hold *c = reserve(l, "trace-2", 0.30);
  CHECK(reserved(l, NULL, NULL) == 0.30, "reserved");
  CHECK_STATUS(usagebook_ledger_cancel(l, c), USAGEBOOK_OK);
  CHECK(spend(l, NULL, NULL) == 0.04, "cancel spends nothing");
  CHECK(reserved(l, NULL, NULL) == 0.0, "cancel releases");
  CHECK_STATUS(usagebook_ledger_cancel(l, c), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_commit(l, c, NULL, 1.0), USAGEBOOK_INVALID_ARGUMENT);
  CHECK(spend(l, NULL, NULL) == 0.04, "commit after cancel refused");
  usagebook_hold_free(c);

  /* Profiles: NULL means every profile. */
  usagebook_hold *ph = NULL;
  CHECK_STATUS(usagebook_ledger_reserve(l, "trace-3", "anthropic", "claude", 0.5, "team-a", &ph), USAGEBOOK_OK);
  CHECK(reserved(l, NULL, "team-a") == 0.5 && reserved(l, NULL, "team-b") == 0.0, "reserved per profile");
  CHECK_STATUS(usagebook_hold_info_json(ph, &info), USAGEBOOK_OK);
  CHECK_CONTAINS(info, "\"profile_id\":\"team-a\"");
  usagebook_string_free(info);
  /* A negative (or NaN) actual cost means "derive": unpriced, the estimate. */
  CHECK_STATUS(usagebook_ledger_commit(l, ph, NULL, -1.0), USAGEBOOK_OK);
  usagebook_hold_free(ph);
  CHECK(spend(l, NULL, "team-a") == 0.5, "team-a %f", spend(l, NULL, "team-a"));
  CHECK(spend(l, "provider:anthropic", "team-b") == 0.0, "team-b");
  CHECK(spend(l, NULL, NULL) == 0.54, "all profiles %f", spend(l, NULL, NULL));

  CHECK_STATUS(usagebook_ledger_flush(l), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  free(p);
}

/* The seed's budget case: 0.9 + 0.2 > 1.0 is refused; 0.9 + 0.1 == 1.0 passes (L7). */
static void test_strict_budget_and_reopen(void) {
  const char *opts = "{\"mode\":\"strict_budget\",\"dailyBudgetUsd\":1.0,\"timezone\":\"Asia/Tokyo\"}";
  char *p = path_of("strict.db");
  usagebook_ledger *l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, opts, &l), USAGEBOOK_OK);
  usagebook_hold *a = reserve(l, "a", 0.9);
  CHECK_STATUS(usagebook_ledger_commit(l, a, NULL, 0.9), USAGEBOOK_OK);
  usagebook_hold_free(a);

  usagebook_hold *refused = SENTINEL_HOLD;
  CHECK_STATUS(usagebook_ledger_reserve(l, "b", "openai", "gpt-4o", 0.2, NULL, &refused),
               USAGEBOOK_BUDGET_EXCEEDED);
  const char *msg = usagebook_last_error_message();
  CHECK_CONTAINS(msg, "budget exceeded");
  CHECK_CONTAINS(msg, "all day budget $1.000000");
  CHECK_CONTAINS(msg, "spent $0.900000");
  CHECK_CONTAINS(msg, "reserved $0.000000");
  CHECK_CONTAINS(msg, "requested $0.200000");
  CHECK_CONTAINS(msg, "resets at 20");
  CHECK(refused == SENTINEL_HOLD, "no hold on refusal");
  CHECK(reserved(l, NULL, NULL) == 0.0, "a refused hold reserves nothing");

  /* A precheck_hold written as an event is refused the same way. */
  CHECK_STATUS(usagebook_ledger_write_event_json(
                   l, "{\"event_type\":\"precheck_hold\",\"trace_id\":\"b2\",\"provider\":\"openai\","
                      "\"model\":\"gpt-4o\",\"cost_est_usd\":0.2}",
                   false),
               USAGEBOOK_BUDGET_EXCEEDED);
  CHECK_CONTAINS(usagebook_last_error_message(), "budget exceeded");

  usagebook_hold *eq = NULL;
  CHECK_STATUS(usagebook_ledger_reserve(l, "c", "openai", "gpt-4o", 0.1, NULL, &eq), USAGEBOOK_OK);
  CHECK(reserved(l, NULL, NULL) == 0.1, "equality passes and reserves");
  /* Now spent 0.9 + reserved 0.1 == limit: even a tiny hold is refused. */
  usagebook_hold *tiny = SENTINEL_HOLD;
  CHECK_STATUS(usagebook_ledger_reserve(l, "d", "openai", "gpt-4o", 0.000000001, NULL, &tiny),
               USAGEBOOK_BUDGET_EXCEEDED);
  CHECK_CONTAINS(usagebook_last_error_message(), "reserved $0.100000");
  CHECK_STATUS(usagebook_ledger_cancel(l, eq), USAGEBOOK_OK);
  usagebook_hold_free(eq);

  /* A sync write is committed when it returns (health: nothing queued). */
  CHECK_STATUS(usagebook_ledger_write_event_json(
                   l, "{\"event_type\":\"commit\",\"trace_id\":\"e\",\"provider\":\"anthropic\","
                      "\"model\":\"claude\",\"cost_actual_usd\":0.05,\"profile_id\":\"team-a\"}",
                   true),
               USAGEBOOK_OK);
  char *health = NULL;
  CHECK_STATUS(usagebook_ledger_health_json(l, &health), USAGEBOOK_OK);
  CHECK_CONTAINS(health, "\"mode\":\"strict_budget\"");
  CHECK_CONTAINS(health, "\"queueDepth\":0");
  CHECK_CONTAINS(health, "\"closed\":false");
  CHECK_CONTAINS(health, "\"schemaVersion\":");
  CHECK_CONTAINS(health, "strict.db");
  usagebook_string_free(health);

  /* O1: the database's totals as Prometheus text. */
  char *text = NULL;
  CHECK_STATUS(usagebook_ledger_metrics_text(NULL, &text), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_metrics_text(l, NULL), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_metrics_text(l, &text), USAGEBOOK_OK);
  CHECK_CONTAINS(text, "\nusagebook_ledger_requests_total{provider=\"anthropic\",model=\"claude\"} ");
  CHECK_CONTAINS(text, "\nusagebook_ledger_writer_up 1\n");
  CHECK_CONTAINS(text, "\nusagebook_ledger_spend_today_usd{scope=\"all\"} 0.95\n");
  usagebook_string_free(text);
  CHECK(spend(l, NULL, NULL) == 0.95, "spend %f", spend(l, NULL, NULL));
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);

  /* Reopen: the day's spend and the budget state survive. */
  l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, opts, &l), USAGEBOOK_OK);
  CHECK(spend(l, NULL, NULL) == 0.95, "after reopen %f", spend(l, NULL, NULL));
  CHECK(spend(l, "provider:anthropic", "team-a") == 0.05, "scope and profile after reopen");
  CHECK(reserved(l, NULL, NULL) == 0.0, "no holds after reopen");
  usagebook_hold *h = SENTINEL_HOLD;
  CHECK_STATUS(usagebook_ledger_reserve(l, "f", "openai", "gpt-4o", 0.06, NULL, &h), USAGEBOOK_BUDGET_EXCEEDED);
  CHECK_STATUS(usagebook_ledger_reserve(l, "f", "openai", "gpt-4o", 0.05, NULL, &h), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_ledger_commit(l, h, NULL, 0.05), USAGEBOOK_OK);
  usagebook_hold_free(h);
  CHECK(spend(l, NULL, NULL) == 1.0, "used up exactly: %f", spend(l, NULL, NULL));
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  free(p);
}

/* Best effort: a write returns once queued; close drains the queue (L4). */
static void test_close_drains_queue(void) {
  char *p = path_of("drain.db");
  usagebook_ledger *l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, "{\"batchSize\":1000,\"flushIntervalMs\":600000}", &l), USAGEBOOK_OK);
  char ev[256];
  for (int i = 0; i < 50; i++) {
    snprintf(ev, sizeof ev,
             "{\"event_type\":\"commit\",\"trace_id\":\"q%d\",\"provider\":\"openai\",\"model\":\"gpt-4o\","
             "\"cost_actual_usd\":0.01}",
             i);
    CHECK_STATUS(usagebook_ledger_write_event_json(l, ev, false), USAGEBOOK_OK);
  }
  char *health = NULL;
  CHECK_STATUS(usagebook_ledger_health_json(l, &health), USAGEBOOK_OK);
  CHECK_CONTAINS(health, "\"queueDepth\":50");
  usagebook_string_free(health);
  CHECK(spend(l, NULL, NULL) == 0.5, "queued events count at once (best effort)");
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, NULL, &l), USAGEBOOK_OK);
  CHECK(spend(l, NULL, NULL) == 0.5, "all 50 persisted: %f", spend(l, NULL, NULL));
  CHECK_STATUS(usagebook_ledger_health_json(l, &health), USAGEBOOK_OK);
  CHECK_CONTAINS(health, "\"mode\":\"best_effort\"");
  usagebook_string_free(health);
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  free(p);
}

/* cost_actual derived from usage at the model's price (L12), and hold expiry (L9). */
static void test_prices_and_expiry(void) {
  char *prices = path_of("prices.json");
  FILE *fp = fopen(prices, "w");
  CHECK(fp != NULL, "writing %s", prices);
  if (!fp) {
    free(prices);
    return;
  }
  fputs("{\"gpt-4o\": {\"input_cost_per_token\": 2.5e-06, \"output_cost_per_token\": 1e-05,"
        " \"litellm_provider\": \"openai\", \"mode\": \"chat\"}}",
        fp);
  fclose(fp);
  char opts[5000];
  snprintf(opts, sizeof opts, "{\"pricesPath\":\"%s\",\"holdTtlS\":0.5}", prices);
  char *p = path_of("priced.db");
  usagebook_ledger *l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, "{\"pricesPath\":\"/nonexistent/prices.json\"}", &l), USAGEBOOK_IO_ERROR);
  CHECK_CONTAINS(usagebook_last_error_message(), "prices.json");
  CHECK_STATUS(usagebook_ledger_open(p, opts, &l), USAGEBOOK_OK);
  usagebook_hold *h = reserve(l, "priced", 1.0);
  /* 1000 x 2.5e-6 + 500 x 1e-5 = 0.0075 */
  CHECK_STATUS(usagebook_ledger_commit(l, h, "{\"tokens_in\":1000,\"tokens_out\":500}", NAN), USAGEBOOK_OK);
  usagebook_hold_free(h);
  CHECK(fabs(spend(l, NULL, NULL) - 0.0075) < 1e-12, "priced %.10f", spend(l, NULL, NULL));

  usagebook_hold *stale = reserve(l, "stale", 0.7);
  CHECK(reserved(l, NULL, NULL) == 0.7, "reserved before expiry");
  sleep_ms(600); /* past the 0.5 s holdTtlS */
  CHECK(reserved(l, NULL, NULL) == 0.0, "an expired hold reserves nothing: %f", reserved(l, NULL, NULL));
  usagebook_hold_free(stale); /* freeing never settles; expiry released it */
  CHECK(fabs(spend(l, NULL, NULL) - 0.0075) < 1e-12, "expiry spends nothing");
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  free(p);
  free(prices);
}

/* Threads share one ledger and one strict daily budget: never exceeded,
 * used up exactly (L7). Each thread counts its own results (the CHECK
 * counters are not thread-safe). */
struct worker {
  usagebook_ledger *l;
  int index, ok, refused, other;
};

static void *reserve_many(void *arg) {
  struct worker *w = (struct worker *)arg;
  char trace[64];
  for (int i = 0; i < 5; i++) {
    snprintf(trace, sizeof trace, "w%d-%d", w->index, i);
    usagebook_hold *h = NULL;
    usagebook_status s = usagebook_ledger_reserve(w->l, trace, "openai", "gpt-4o", 0.1, NULL, &h);
    if (s == USAGEBOOK_OK) {
      if (usagebook_ledger_commit(w->l, h, "{\"tokens_in\":10}", 0.1) == USAGEBOOK_OK)
        w->ok++;
      else
        w->other++;
      usagebook_hold_free(h);
    } else if (s == USAGEBOOK_BUDGET_EXCEEDED) {
      w->refused++;
    } else {
      w->other++;
    }
  }
  return NULL;
}

static void test_threads(void) {
  char *p = path_of("threads.db");
  usagebook_ledger *l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, "{\"mode\":\"strict_budget\",\"dailyBudgetUsd\":1.0}", &l), USAGEBOOK_OK);
  struct worker w[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].l = l;
    w[i].index = i;
    pthread_create(&th[i], NULL, reserve_many, &w[i]);
  }
  int ok = 0, refused = 0, other = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    ok += w[i].ok;
    refused += w[i].refused;
    other += w[i].other;
  }
  CHECK(ok == 10 && refused == 10 && other == 0, "ok %d, refused %d, other %d", ok, refused, other);
  CHECK(spend(l, NULL, NULL) == 1.0, "spend %f", spend(l, NULL, NULL));
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  free(p);
}

/* U2, U4: an Anthropic SDK usage as JSON, priced with the bundled LiteLLM
 * snapshot, through usagebook_cost_json and through a strict-budget commit. */
static void test_sdk_usage_and_cost(void) {
  /* 200 plain + 5000 written + 15000 read input, 800 out on claude-sonnet-4-5:
   * 200*3e-6 + 5000*3.75e-6 + 15000*3e-7 + 800*1.5e-5 = 0.03585 */
  const char *usage = "{\"input_tokens\":200,\"output_tokens\":800,"
                      "\"cache_creation_input_tokens\":5000,\"cache_read_input_tokens\":15000,"
                      "\"cache_creation\":{\"ephemeral_5m_input_tokens\":5000,\"ephemeral_1h_input_tokens\":0}}";
  char *out = SENTINEL_STRING;
  CHECK_STATUS(usagebook_cost_json("claude-sonnet-4-5", usage, "anthropic", NULL, &out), USAGEBOOK_OK);
  CHECK_CONTAINS(out, "\"priced\":true");
  CHECK_CONTAINS(out, "cache_read_input_token_cost");
  usagebook_string_free(out);
  out = SENTINEL_STRING;
  CHECK_STATUS(usagebook_cost_json("gpt-4o", "{\"tokens\":5}", NULL, NULL, &out), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "tokens");
  CHECK(out == SENTINEL_STRING, "no output on failure");
  CHECK_STATUS(usagebook_cost_json("mystery-1", "{\"input\":1,\"output\":1}", NULL, NULL, &out), USAGEBOOK_OK);
  CHECK_CONTAINS(out, "\"priced\":false");
  usagebook_string_free(out);

  /* Bounds (docs/limits.md): a millisecond timestamp is refused, not filed
   * 50,000 years ahead of the budget. */
  {
    char *q = path_of("ms.db");
    usagebook_ledger *m = NULL;
    CHECK_STATUS(usagebook_ledger_open(q, NULL, &m), USAGEBOOK_OK);
    CHECK_STATUS(usagebook_ledger_write_event_json(
                     m, "{\"event_type\":\"commit\",\"trace_id\":\"t\",\"provider\":\"p\",\"model\":\"m\","
                        "\"cost_actual_usd\":5,\"timestamp\":1767261600000}", 1),
                 USAGEBOOK_INVALID_ARGUMENT);
    CHECK_CONTAINS(usagebook_last_error_message(), "looks like milliseconds");
    CHECK(fabs(spend(m, NULL, NULL)) < 1e-12, "nothing counted");
    CHECK_STATUS(usagebook_ledger_close(m), USAGEBOOK_OK);
    free(q);
    q = path_of("ttl.db");
    m = SENTINEL_LEDGER;
    CHECK_STATUS(usagebook_ledger_open(q, "{\"holdTtlS\":9.2e15}", &m), USAGEBOOK_INVALID_ARGUMENT);
    CHECK_CONTAINS(usagebook_last_error_message(), "hold_ttl_s");
    CHECK(m == SENTINEL_LEDGER, "no handle on failure");
    free(q);
  }
  char *p = path_of("sdk.db");
  usagebook_ledger *l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, "{\"mode\":\"strict_budget\",\"dailyBudgetUsd\":0.05}", &l), USAGEBOOK_OK);
  usagebook_hold *h = NULL;
  CHECK_STATUS(usagebook_ledger_reserve(l, "sdk", "anthropic", "claude-sonnet-4-5", 0.01, NULL, &h), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_ledger_commit(l, h, usage, NAN), USAGEBOOK_OK);
  CHECK(fabs(spend(l, NULL, NULL) - 0.03585) < 1e-9, "priced %.10f", spend(l, NULL, NULL));
  usagebook_hold_free(h);
  h = NULL;
  /* 0.03585 spent + 0.02 > 0.05: refused. */
  CHECK_STATUS(usagebook_ledger_reserve(l, "sdk2", "anthropic", "claude-sonnet-4-5", 0.02, NULL, &h), USAGEBOOK_BUDGET_EXCEEDED);
  /* An unpriced model with no estimate would count $0: refused in strict mode. */
  CHECK_STATUS(usagebook_ledger_reserve(l, "u", "acme", "mystery-1", 0.0, NULL, &h), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_ledger_commit(l, h, "{\"input\":1,\"output\":1}", NAN), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "mystery-1");
  CHECK_STATUS(usagebook_ledger_cancel(l, h), USAGEBOOK_OK);
  usagebook_hold_free(h);
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  free(p);
}

/* R1-R3: rate limits from the options, a refusal with its code and the
 * limit named, reserve_json's token estimate against tpm, limits changed
 * on an open ledger, and a blocking wait that ends in a hold. */
static void test_rate_limits(void) {
  const char *opts =
      "{\"mode\":\"strict_budget\",\"rateLimits\":[{\"scope\":\"provider:openai\",\"rpm\":2,\"tpm\":1000}]}";
  char *p = path_of("rate.db");
  usagebook_ledger *l = NULL;
  CHECK_STATUS(usagebook_ledger_open(p, opts, &l), USAGEBOOK_OK);
  usagebook_hold *h = NULL;
  CHECK_STATUS(usagebook_ledger_reserve_json(l,
      "{\"traceId\":\"a\",\"provider\":\"openai\",\"model\":\"gpt-4o\",\"estimateUsd\":0.01,\"estimateTokens\":900}", &h),
      USAGEBOOK_OK);
  usagebook_hold_free(h);
  h = SENTINEL_HOLD;
  CHECK_STATUS(usagebook_ledger_reserve_json(l,
      "{\"traceId\":\"b\",\"provider\":\"openai\",\"model\":\"gpt-4o\",\"estimateUsd\":0.01,\"inputTokens\":50,\"maxTokens\":100}", &h),
      USAGEBOOK_RATE_LIMITED);
  CHECK(h == SENTINEL_HOLD, "a refused reservation leaves *out alone");
  CHECK_CONTAINS(usagebook_last_error_message(), "rate limit tpm 1000 of scope \"provider:openai\"");
  CHECK_CONTAINS(usagebook_last_error_message(), "retry after");
  CHECK_CONTAINS(usagebook_status_str(USAGEBOOK_RATE_LIMITED), "USAGEBOOK_RATE_LIMITED");
  /* Another provider is outside that scope. */
  h = NULL;
  CHECK_STATUS(usagebook_ledger_reserve(l, "c", "anthropic", "claude", 0.01, NULL, &h), USAGEBOOK_OK);
  usagebook_hold_free(h);
  CHECK_STATUS(usagebook_ledger_reserve_json(l, "{\"traceId\":\"d\",\"provider\":\"openai\",\"model\":\"m\",\"estimateUsd\":0,\"tokens\":1}", &h),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "unknown reservation field");
  CHECK_STATUS(usagebook_ledger_set_rate_limits(l, "[{\"scope\":\"everywhere\",\"rpm\":1}]"), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_set_rate_limits(l, "[]"), USAGEBOOK_OK);
  h = NULL;
  CHECK_STATUS(usagebook_ledger_reserve(l, "e", "openai", "gpt-4o", 0.01, NULL, &h), USAGEBOOK_OK);
  usagebook_hold_free(h);
  CHECK_STATUS(usagebook_ledger_close(l), USAGEBOOK_OK);
  free(p);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <scratch directory>\n", argv[0]);
    return 2;
  }
  snprintf(base, sizeof base, "%s", argv[1]);
  test_statuses();
  test_open_errors();
  test_argument_errors();
  test_hold_commit_cancel("best_effort");
  test_hold_commit_cancel("strict_budget");
  test_strict_budget_and_reopen();
  test_close_drains_queue();
  test_prices_and_expiry();
  test_sdk_usage_and_cost();
  test_threads();
  test_rate_limits();
  return check_report("test_ledger (C)");
}
