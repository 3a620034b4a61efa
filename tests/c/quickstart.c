/* The README's C quick start, compiled and run by tests/run-all.sh. */
#include <stdio.h>
#include "usagebook.h"

static int check(usagebook_status s, const char *what) {
    if (s != USAGEBOOK_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, usagebook_status_str(s),
                usagebook_last_error_message());
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "./usage-data";
    usagebook_tracker *t = NULL;
    if (check(usagebook_tracker_open(dir, "{\"persistLogs\": true, \"durability\": \"process\"}", &t), "open"))
        return 1;

    /* One call per LLM request: bridge, prompt/completion/total tokens,
       duration in ms (-1 if unknown), success or error. */
    if (check(usagebook_tracker_track(t, "openai", 120, 40, 160, 850, USAGEBOOK_USAGE_SUCCESS), "track") ||
        check(usagebook_tracker_track_json(t,
                  "{\"bridgeId\":\"anthropic\",\"usage\":{\"promptTokens\":200,"
                  "\"completionTokens\":80,\"totalTokens\":280},\"status\":\"error\"}"), "track_json"))
        return 1;

    usagebook_stats all;
    if (check(usagebook_tracker_stats(t, NULL, &all), "stats")) return 1;
    printf("requests %llu, tokens %llu, errors %llu, avg %.1f\n",
           (unsigned long long)all.total_requests, (unsigned long long)all.total_tokens,
           (unsigned long long)all.error_count, all.average_tokens_per_request);

    char *logs = NULL;
    if (check(usagebook_tracker_logs_json(t, "openai", &logs), "logs")) return 1;
    printf("openai logs: %s\n", logs);
    usagebook_string_free(logs);

    /* Close flushes and releases the directory; always call it. */
    return check(usagebook_tracker_close(t), "close");
}
