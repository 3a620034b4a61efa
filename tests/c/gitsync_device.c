/* One git-sync device over the C ABI, for the cross-binding test
 * (bindings-python/tests/test_gitsync_cross.py; issue 13): opens a
 * file-backed tracker with OPTIONS_JSON (which holds its gitSync), records
 * every line of stdin (the JSON `usagebook_tracker_track_json` takes),
 * syncs, prints the merged stats JSON of the repository on one line of
 * stdout, then closes (the final sync). Exits 1 with the error on stderr
 * if any call fails.
 *
 *   gitsync_device BASE_DIR OPTIONS_JSON < events.jsonl
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usagebook.h"

static int fail(const char *what, usagebook_status s) {
  fprintf(stderr, "gitsync_device: %s: %s: %s\n", what, usagebook_status_str(s),
          usagebook_last_error_message());
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s BASE_DIR OPTIONS_JSON < events.jsonl\n", argv[0]);
    return 2;
  }
  usagebook_tracker *t = NULL;
  usagebook_status s = usagebook_tracker_open(argv[1], argv[2], &t);
  if (s != USAGEBOOK_OK) return fail("open", s);
  static char line[65536];
  while (fgets(line, sizeof line, stdin) != NULL) {
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    if (n == 0) continue;
    s = usagebook_tracker_track_json(t, line);
    if (s != USAGEBOOK_OK) return fail("track_json", s);
  }
  char *json = NULL;
  s = usagebook_tracker_sync(t, &json);
  if (s != USAGEBOOK_OK) return fail("sync", s);
  fprintf(stderr, "gitsync_device: sync %s\n", json);
  usagebook_string_free(json);
  json = NULL;
  s = usagebook_tracker_merged_stats(t, &json);
  if (s != USAGEBOOK_OK) return fail("merged_stats", s);
  printf("%s\n", json);
  usagebook_string_free(json);
  s = usagebook_tracker_close(t);
  if (s != USAGEBOOK_OK) return fail("close", s);
  return 0;
}
