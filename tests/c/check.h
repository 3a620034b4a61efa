/* A minimal test harness shared by the C and C++ test programs: CHECK
 * counts a pass or prints the failure with file and line; the program ends
 * with "<N> passed, <M> failed" and exits non-zero on any failure. */
#ifndef USAGEBOOK_TEST_CHECK_H
#define USAGEBOOK_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed = 0;
static int check_failed = 0;

#define CHECK(cond, ...)                                                        \
  do {                                                                          \
    if (cond) {                                                                 \
      check_passed++;                                                           \
    } else {                                                                    \
      check_failed++;                                                           \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
      fprintf(stderr, __VA_ARGS__);                                             \
      fprintf(stderr, " (last error: \"%s\")\n", usagebook_last_error_message()); \
    }                                                                           \
  } while (0)

/* A call expected to return `want`; on a mismatch both statuses are named. */
#define CHECK_STATUS(call, want)                                                   \
  do {                                                                             \
    usagebook_status got_ = (call);                                                \
    CHECK(got_ == (want), "got %s, want %s", usagebook_status_str(got_),           \
          usagebook_status_str(want));                                             \
  } while (0)

#define CHECK_CONTAINS(haystack, needle)                                         \
  do {                                                                           \
    const char *h_ = (haystack);                                                 \
    CHECK(h_ != NULL && strstr(h_, (needle)) != NULL, "\"%s\" lacks \"%s\"",     \
          h_ ? h_ : "(null)", (needle));                                         \
  } while (0)

static int check_report(const char *program) {
  printf("%s: %d passed, %d failed\n", program, check_passed, check_failed);
  return check_failed == 0 ? 0 : 1;
}

#endif
