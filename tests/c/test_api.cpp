// The C ABI from C++ (B1): the header compiles as C++ (extern "C", typed
// enums), and RAII wrappers call every exported function, including the
// failure paths (NULL, invalid UTF-8, bad JSON, unknown options, lock), and
// the budget ledger (holds settled once, strict budget, reopen; L6, L7).
//
// Usage: test_api_cpp <empty scratch directory>
#include "usagebook.h"
#include "check.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <cstdlib>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

static_assert(std::is_same<std::underlying_type<usagebook_status>::type, uint32_t>::value,
              "usagebook_status is a uint32_t enum in C++");
static_assert(sizeof(usagebook_stats) == 10 * 8, "usagebook_stats layout (three part sums at the end)");

namespace {

const char *const kBadUtf8 = "op\xff" "enai";

struct Closer {
  void operator()(usagebook_tracker *t) const {
    usagebook_status s = usagebook_tracker_close(t);
    CHECK(s == USAGEBOOK_OK, "close: %s", usagebook_status_str(s));
  }
};
using Tracker = std::unique_ptr<usagebook_tracker, Closer>;

// An owned usagebook string, freed with usagebook_string_free.
struct StringFree {
  void operator()(char *s) const { usagebook_string_free(s); }
};
using OwnedString = std::unique_ptr<char, StringFree>;

std::string logs(const usagebook_tracker *t, const char *bridge) {
  char *out = nullptr;
  usagebook_status s = usagebook_tracker_logs_json(t, bridge, &out);
  CHECK(s == USAGEBOOK_OK, "logs_json: %s", usagebook_status_str(s));
  OwnedString owned(out);
  return owned ? std::string(owned.get()) : std::string();
}

std::string health(const usagebook_tracker *t) {
  char *out = nullptr;
  usagebook_status s = usagebook_tracker_health_json(t, &out);
  CHECK(s == USAGEBOOK_OK, "health_json: %s", usagebook_status_str(s));
  OwnedString owned(out);
  return owned ? std::string(owned.get()) : std::string();
}

usagebook_stats stats(const usagebook_tracker *t, const char *bridge) {
  usagebook_stats s{};
  CHECK_STATUS(usagebook_tracker_stats(t, bridge, &s), USAGEBOOK_OK);
  return s;
}

// A ledger closed (and checked) when it goes out of scope; holds freed.
struct LedgerCloser {
  void operator()(usagebook_ledger *l) const {
    usagebook_status s = usagebook_ledger_close(l);
    CHECK(s == USAGEBOOK_OK, "ledger close: %s", usagebook_status_str(s));
  }
};
using Ledger = std::unique_ptr<usagebook_ledger, LedgerCloser>;
struct HoldFree {
  void operator()(usagebook_hold *h) const { usagebook_hold_free(h); }
};
using Hold = std::unique_ptr<usagebook_hold, HoldFree>;

double spend_today(usagebook_ledger *l, const char *scope = nullptr) {
  double usd = -1;
  CHECK_STATUS(usagebook_ledger_spend_today(l, scope, nullptr, &usd), USAGEBOOK_OK);
  return usd;
}

double reserved_today(usagebook_ledger *l) {
  double usd = -1;
  CHECK_STATUS(usagebook_ledger_reserved_today(l, nullptr, nullptr, &usd), USAGEBOOK_OK);
  return usd;
}

Hold reserve(usagebook_ledger *l, const char *trace, double usd,
             usagebook_status want = USAGEBOOK_OK) {
  usagebook_hold *h = nullptr;
  CHECK_STATUS(usagebook_ledger_reserve(l, trace, "openai", "gpt-4o", usd, nullptr, &h), want);
  return Hold(h);
}

// Takes ownership of a usagebook string (NULL gives "").
std::string take(char *out) {
  OwnedString owned(out);
  return owned ? std::string(owned.get()) : std::string();
}

std::atomic<int64_t> g_now{1736000000000LL};
int64_t clock_fn(void *ctx) { return static_cast<std::atomic<int64_t> *>(ctx)->load(); }

void test_basics() {
  CHECK(std::string(usagebook_version()) == USAGEBOOK_VERSION, "version %s", usagebook_version());
  CHECK(std::string(usagebook_status_str(USAGEBOOK_PANIC)).find("PANIC") != std::string::npos, "panic");
  CHECK(std::string(usagebook_status_str(static_cast<usagebook_status>(4242))) ==
            "unknown usagebook_status",
        "unknown");
  CHECK(std::string(usagebook_last_error_message()).empty(), "no error yet");
  usagebook_string_free(nullptr);
  CHECK_STATUS(usagebook_tracker_close(nullptr), USAGEBOOK_OK);
}

void test_memory_and_noop() {
  usagebook_tracker *raw = nullptr;
  CHECK_STATUS(usagebook_tracker_open_in_memory("{\"maxLogs\":1,\"durability\":\"power\"}", &raw),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "durability");
  CHECK_STATUS(usagebook_tracker_open_in_memory(nullptr, nullptr), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open_in_memory(kBadUtf8, &raw), USAGEBOOK_INVALID_UTF8);
  CHECK(raw == nullptr, "untouched");
  CHECK_STATUS(usagebook_tracker_open_in_memory_with_clock("{\"maxLogs\":1}", clock_fn, &g_now, &raw),
               USAGEBOOK_OK);
  Tracker t(raw);
  CHECK_STATUS(usagebook_tracker_track(t.get(), "openai", 10, 5, 15, 120, USAGEBOOK_USAGE_SUCCESS),
               USAGEBOOK_OK);
  g_now += 1;
  CHECK_STATUS(usagebook_tracker_track_json(
                   t.get(), R"({"bridgeId":"openai","usage":{"promptTokens":1,"completionTokens":2,"totalTokens":3},"status":"error"})"),
               USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_track_json(t.get(), "{\"bridgeId\":\"openai\",\"usage\":[]}"),
               USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "usage");
  CHECK_STATUS(usagebook_tracker_track(t.get(), kBadUtf8, 1, 1, 2, -1, USAGEBOOK_USAGE_ERROR),
               USAGEBOOK_INVALID_UTF8);
  CHECK_STATUS(usagebook_tracker_track(t.get(), "openai", 1, 1, 2, -1, static_cast<usagebook_usage_status>(5)),
               USAGEBOOK_INVALID_ARGUMENT);
  usagebook_stats s = stats(t.get(), nullptr);
  CHECK(s.total_requests == 2 && s.total_tokens == 18 && s.error_count == 1, "totals survive maxLogs 1");
  CHECK(s.average_tokens_per_request == 9.0 && s.last_used_at_ms == 1736000000001LL, "avg/last");
  std::string l = logs(t.get(), "openai");
  CHECK(l == R"([{"id":"llm_log_2_1736000000001","timestamp":"2025-01-04T14:13:20.001Z","bridgeId":"openai","usage":{"promptTokens":1,"completionTokens":2,"totalTokens":3},"status":"error"}])",
        "%s", l.c_str());
  CHECK(health(t.get()).find("\"kind\":\"memory\"") != std::string::npos, "health");
  {
    char *text = nullptr;
    CHECK_STATUS(usagebook_tracker_metrics_text(t.get(), &text), USAGEBOOK_OK);
    OwnedString owned(text);
    CHECK(owned && strstr(owned.get(), "# TYPE usagebook_tracker_requests_total counter\n") != nullptr,
          "metrics text");
  }
  CHECK_STATUS(usagebook_tracker_flush(t.get()), USAGEBOOK_OK);
  CHECK_STATUS(usagebook_tracker_clear_logs(t.get(), 1736000000001LL), USAGEBOOK_OK);
  // The log at exactly olderThan stays; the one already rolled out by maxLogs
  // is judged by its hour, which is not before the cutoff's (T5).
  CHECK(logs(t.get(), "openai") == l, "clear(olderThan) keeps >=");
  CHECK(stats(t.get(), "openai").total_requests == 2, "hour granularity for rolled-out history");
  CHECK_STATUS(usagebook_tracker_clear_logs(t.get(), -1), USAGEBOOK_OK);
  CHECK(stats(t.get(), "").total_requests == 0, "clear all");
  CHECK(logs(t.get(), "") == "[]", "no logs");

  CHECK_STATUS(usagebook_tracker_open_in_memory(nullptr, &raw), USAGEBOOK_OK);
  Tracker plain(raw);
  CHECK_STATUS(usagebook_tracker_track(plain.get(), "x", 0, 0, 0, -1, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK(stats(plain.get(), "x").total_requests == 1, "plain in-memory");

  CHECK_STATUS(usagebook_tracker_open_noop(nullptr), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_tracker_open_noop(&raw), USAGEBOOK_OK);
  Tracker noop(raw);
  CHECK_STATUS(usagebook_tracker_track(noop.get(), "x", 1, 1, 2, -1, USAGEBOOK_USAGE_SUCCESS), USAGEBOOK_OK);
  CHECK(stats(noop.get(), nullptr).total_requests == 0, "noop");
  CHECK(health(noop.get()).find("\"kind\":\"noop\"") != std::string::npos, "noop health");
}

void test_file(const std::string &base) {
  std::string d = base + "/cpp-file";
  const char *opts = "{\"persistLogs\":true,\"durability\":\"process\"}";
  usagebook_tracker *raw = nullptr;
  CHECK_STATUS(usagebook_tracker_open(d.c_str(), "{\"unknownKey\":true}", &raw), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "unknownKey");
  CHECK_STATUS(usagebook_tracker_open(kBadUtf8, nullptr, &raw), USAGEBOOK_INVALID_UTF8);
  CHECK_STATUS(usagebook_tracker_open_with_clock(d.c_str(), opts, nullptr, nullptr, &raw), USAGEBOOK_NULL_ARGUMENT);
  CHECK(raw == nullptr, "untouched");
  CHECK_STATUS(usagebook_tracker_open_with_clock(d.c_str(), opts, clock_fn, &g_now, &raw), USAGEBOOK_OK);
  std::string before_logs;
  usagebook_stats before{};
  {
    Tracker t(raw);
    usagebook_tracker *second = nullptr;
    CHECK_STATUS(usagebook_tracker_open(d.c_str(), opts, &second), USAGEBOOK_LOCKED);
    CHECK(second == nullptr, "untouched");
    // One handle, four threads (the check counters are not thread-safe, so
    // each thread counts its own failures).
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < 4; i++)
      threads.emplace_back([&t, &failures, i] {
        for (int k = 0; k < 50; k++)
          if (usagebook_tracker_track(t.get(), i % 2 ? "odd" : "even", 1, 2, 3, k,
                                      USAGEBOOK_USAGE_SUCCESS) != USAGEBOOK_OK)
            failures++;
      });
    for (auto &th : threads) th.join();
    CHECK(failures == 0, "%d tracks failed", failures.load());
    CHECK_STATUS(usagebook_tracker_flush(t.get()), USAGEBOOK_OK);
    CHECK(health(t.get()).find("\"durability\":\"process\"") != std::string::npos, "health");
    before = stats(t.get(), nullptr);
    CHECK(before.total_requests == 200 && before.total_tokens == 600, "%llu",
          static_cast<unsigned long long>(before.total_requests));
    before_logs = logs(t.get(), "odd");
  }  // closed here
  CHECK_STATUS(usagebook_tracker_open(d.c_str(), opts, &raw), USAGEBOOK_OK);
  Tracker again(raw);
  usagebook_stats after = stats(again.get(), nullptr);
  CHECK(after.total_requests == before.total_requests && after.total_tokens == before.total_tokens &&
            after.last_used_at_ms == before.last_used_at_ms,
        "reopen: same totals");
  CHECK(logs(again.get(), "odd") == before_logs, "reopen: same logs");
}

void test_ledger(const std::string &base) {
  std::string path = base + "/cpp-ledger.db";
  const char *strict = R"({"mode":"strict_budget","dailyBudgetUsd":1.0})";
  usagebook_ledger *raw = nullptr;
  CHECK_STATUS(usagebook_ledger_open(path.c_str(), R"({"dailyBudgetUSD":1})", &raw), USAGEBOOK_INVALID_ARGUMENT);
  CHECK_CONTAINS(usagebook_last_error_message(), "dailyBudgetUSD");
  CHECK_STATUS(usagebook_ledger_open(kBadUtf8, nullptr, &raw), USAGEBOOK_INVALID_UTF8);
  CHECK_STATUS(usagebook_ledger_open(nullptr, strict, &raw), USAGEBOOK_NULL_ARGUMENT);
  CHECK_STATUS(usagebook_ledger_open(path.c_str(), strict, nullptr), USAGEBOOK_NULL_ARGUMENT);
  CHECK(raw == nullptr, "untouched");
  CHECK_STATUS(usagebook_ledger_open(path.c_str(), strict, &raw), USAGEBOOK_OK);
  {
    Ledger l(raw);
    CHECK_STATUS(usagebook_ledger_write_event_json(
                     l.get(), R"({"event_type":"commit","trace_id":"x","provider":"p","model":"m","cost_actual_usd":"0.1"})",
                     false),
                 USAGEBOOK_INVALID_ARGUMENT);
    CHECK_CONTAINS(usagebook_last_error_message(), "cost_actual_usd");
    CHECK_STATUS(usagebook_ledger_write_event_json(l.get(), nullptr, true), USAGEBOOK_NULL_ARGUMENT);
    CHECK_STATUS(usagebook_ledger_write_event_json(l.get(), kBadUtf8, true), USAGEBOOK_INVALID_UTF8);

    // Hold 0.10, commit 0.04: spend 0.04, reserved 0 (L6).
    Hold h = reserve(l.get(), "t1", 0.10);
    CHECK(reserved_today(l.get()) == 0.10, "reserved");
    char *out = nullptr;
    CHECK_STATUS(usagebook_hold_info_json(h.get(), nullptr), USAGEBOOK_NULL_ARGUMENT);
    CHECK_STATUS(usagebook_hold_info_json(nullptr, &out), USAGEBOOK_NULL_ARGUMENT);
    CHECK(out == nullptr, "untouched");
    CHECK_STATUS(usagebook_hold_info_json(h.get(), &out), USAGEBOOK_OK);
    std::string info = take(out);
    CHECK(info.find(R"("trace_id":"t1")") != std::string::npos, "%s", info.c_str());
    CHECK(info.find(R"("amount_usd":0.1)") != std::string::npos, "%s", info.c_str());
    CHECK_STATUS(usagebook_ledger_commit(l.get(), h.get(), R"({"tokens_in":100})", 0.04), USAGEBOOK_OK);
    CHECK(spend_today(l.get()) == 0.04 && reserved_today(l.get()) == 0.0, "hold then commit counts once");
    CHECK(spend_today(l.get(), "model:gpt-4o") == 0.04, "model scope");
    CHECK_STATUS(usagebook_ledger_cancel(l.get(), h.get()), USAGEBOOK_INVALID_ARGUMENT);
    CHECK_CONTAINS(usagebook_last_error_message(), "already settled");
    CHECK_STATUS(usagebook_ledger_commit(l.get(), nullptr, nullptr, 0.04), USAGEBOOK_NULL_ARGUMENT);
    CHECK_STATUS(usagebook_ledger_cancel(nullptr, h.get()), USAGEBOOK_NULL_ARGUMENT);
    double usd = 7;
    CHECK_STATUS(usagebook_ledger_spend_today(l.get(), "provider:", nullptr, &usd), USAGEBOOK_INVALID_ARGUMENT);
    CHECK_STATUS(usagebook_ledger_reserved_today(l.get(), nullptr, kBadUtf8, &usd), USAGEBOOK_INVALID_UTF8);
    CHECK(usd == 7, "untouched");

    // Cancel: spend unchanged.
    Hold c = reserve(l.get(), "t2", 0.30);
    CHECK_STATUS(usagebook_ledger_cancel(l.get(), c.get()), USAGEBOOK_OK);
    CHECK_STATUS(usagebook_ledger_commit(l.get(), c.get(), nullptr, 0.3), USAGEBOOK_INVALID_ARGUMENT);
    CHECK(spend_today(l.get()) == 0.04 && reserved_today(l.get()) == 0.0, "cancel");

    // Budget: 0.04 + 0.86 = 0.9 spent; 0.2 more is refused, 0.1 passes.
    CHECK_STATUS(usagebook_ledger_write_event_json(
                     l.get(), R"({"event_type":"commit","trace_id":"t3","provider":"openai","model":"gpt-4o","cost_actual_usd":0.86})",
                     true),
                 USAGEBOOK_OK);
    Hold refused = reserve(l.get(), "t4", 0.2, USAGEBOOK_BUDGET_EXCEEDED);
    CHECK(!refused, "no hold on refusal");
    CHECK_CONTAINS(usagebook_last_error_message(), "spent $0.900000");
    Hold eq = reserve(l.get(), "t5", 0.1);
    CHECK(eq != nullptr, "equality passes");
    CHECK_STATUS(usagebook_ledger_commit(l.get(), eq.get(), nullptr, 0.1), USAGEBOOK_OK);
    // R1-R3: a limit set on the open ledger refuses the second request.
    CHECK_STATUS(usagebook_ledger_set_rate_limits(l.get(), R"([{"scope":"model:gpt-4o","rpm":1}])"), USAGEBOOK_OK);
    usagebook_hold *raw = nullptr;
    CHECK_STATUS(usagebook_ledger_reserve_json(
                     l.get(), R"({"traceId":"r1","provider":"openai","model":"gpt-4o","estimateUsd":0})", &raw),
                 USAGEBOOK_OK);
    Hold r1(raw);
    raw = nullptr;
    CHECK_STATUS(usagebook_ledger_reserve_json(
                     l.get(), R"({"traceId":"r2","provider":"openai","model":"gpt-4o","estimateUsd":0})", &raw),
                 USAGEBOOK_RATE_LIMITED);
    CHECK(raw == nullptr, "no hold on a rate-limit refusal");
    CHECK_STATUS(usagebook_ledger_cancel(l.get(), r1.get()), USAGEBOOK_OK);
    CHECK_STATUS(usagebook_ledger_set_rate_limits(l.get(), "[]"), USAGEBOOK_OK);
    CHECK_STATUS(usagebook_ledger_flush(l.get()), USAGEBOOK_OK);
    CHECK_STATUS(usagebook_ledger_health_json(l.get(), &out), USAGEBOOK_OK);
    std::string health = take(out);
    CHECK(health.find(R"("mode":"strict_budget")") != std::string::npos, "%s", health.c_str());
    CHECK(health.find(R"("queueDepth":0)") != std::string::npos, "%s", health.c_str());
    // O1: the database's totals as Prometheus text.
    CHECK_STATUS(usagebook_ledger_metrics_text(l.get(), &out), USAGEBOOK_OK);
    std::string text = take(out);
    CHECK(text.find("\nusagebook_ledger_requests_total{provider=\"openai\",model=\"gpt-4o\"} ") !=
              std::string::npos,
          "%s", text.c_str());
  }  // holds freed, then the ledger closed
  usagebook_hold_free(nullptr);
  CHECK_STATUS(usagebook_ledger_open(path.c_str(), strict, &raw), USAGEBOOK_OK);
  Ledger again(raw);
  CHECK(spend_today(again.get()) == 1.0, "reopen keeps spend: %f", spend_today(again.get()));
  Hold none = reserve(again.get(), "t6", 0.000000001, USAGEBOOK_BUDGET_EXCEEDED);
  CHECK(!none, "the budget is used up");
  CHECK_STATUS(usagebook_ledger_close(nullptr), USAGEBOOK_OK);
}

// The price function from C++ (U4): a whole OpenAI response as JSON.
void test_cost() {
  char *out = nullptr;
  CHECK_STATUS(usagebook_cost_json(nullptr,
                                   R"({"model":"gpt-4o","usage":{"prompt_tokens":1000,"completion_tokens":500,)"
                                   R"("total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200}}})",
                                   "openai", nullptr, &out),
               USAGEBOOK_OK);
  std::string cost = take(out);
  CHECK(cost.find(R"("usd":0.00725)") != std::string::npos, "%s", cost.c_str());
  CHECK(cost.find(R"("model":"gpt-4o")") != std::string::npos, "%s", cost.c_str());
}

}  // namespace

// Git sync (issue 13): one device, one bare remote; sync and merged stats.
void test_git_sync(const std::string &base) {
  std::string remote = base + "/cpp-git-remote.git";
  std::string cmd = "git init -q --bare '" + remote + "' && git -C '" + remote +
                    "' config receive.denyNonFastForwards true";
  CHECK(std::system(cmd.c_str()) == 0, "git init --bare");
  std::string opts = "{\"gitSync\":{\"repoDir\":\"" + base + "/cpp-git-repo\",\"remote\":\"" + remote +
                     "\",\"syncInterval\":\"0m\"}}";
  usagebook_tracker *raw = nullptr;
  CHECK_STATUS(usagebook_tracker_open((base + "/cpp-git").c_str(), opts.c_str(), &raw), USAGEBOOK_OK);
  Tracker t(raw);
  CHECK_STATUS(usagebook_tracker_track(t.get(), "openai/gpt-4o", 3, 4, 7, 1, USAGEBOOK_USAGE_SUCCESS),
               USAGEBOOK_OK);
  char *out = nullptr;
  CHECK_STATUS(usagebook_tracker_sync(t.get(), &out), USAGEBOOK_OK);
  OwnedString report(out);
  CHECK(report && strstr(report.get(), "\"pushed\":true") != nullptr, "sync report");
  char *merged = nullptr;
  CHECK_STATUS(usagebook_tracker_merged_stats(t.get(), &merged), USAGEBOOK_OK);
  OwnedString stats(merged);
  CHECK(stats && strstr(stats.get(), "{\"total\":{\"totalRequests\":1,\"promptTokens\":3,") != nullptr, "%s",
        stats ? stats.get() : "(null)");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <scratch directory>\n", argv[0]);
    return 2;
  }
  test_basics();
  test_memory_and_noop();
  test_file(argv[1]);
  test_ledger(argv[1]);
  test_cost();
  test_git_sync(argv[1]);
  return check_report("test_api (C++)");
}
