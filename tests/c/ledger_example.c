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
    const char *path = argc > 1 ? argv[1] : "./ledger.db";
    usagebook_ledger *l = NULL;
    if (check(usagebook_ledger_open(path, "{\"mode\": \"strict_budget\", \"dailyBudgetUsd\": 1.0}", &l), "open"))
        return 1;

    /* Before the LLM call: hold the estimate (refused past the budget). */
    usagebook_hold *hold = NULL;
    if (check(usagebook_ledger_reserve(l, "trace-1", "openai", "gpt-4o", 0.10, NULL, &hold), "reserve"))
        return 1;
    /* After it: commit the actual cost (-1 prices the usage instead), or cancel. */
    usagebook_status s = usagebook_ledger_commit(l, hold, "{\"tokens_in\": 1200, \"tokens_out\": 300}", 0.04);
    usagebook_hold_free(hold); /* always, committed or not */
    if (check(s, "commit")) return 1;

    usagebook_hold *big = NULL;
    if (usagebook_ledger_reserve(l, "trace-2", "openai", "gpt-4o", 5.00, NULL, &big) == USAGEBOOK_BUDGET_EXCEEDED)
        printf("refused: %s\n", usagebook_last_error_message());

    double spent = 0, reserved = 0;
    if (check(usagebook_ledger_spend_today(l, "all", NULL, &spent), "spend") ||
        check(usagebook_ledger_reserved_today(l, "all", NULL, &reserved), "reserved"))
        return 1;
    printf("spent today: $%.6f, reserved: $%.6f\n", spent, reserved);

    /* Close drains the queue into the database; always call it. */
    return check(usagebook_ledger_close(l), "close");
}
