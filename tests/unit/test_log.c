/* log_dedupe: each message of a condition logged once until it ends, in any order. */
#include "log.h"

#include "check.h"

int main(void)
{
    struct log_dedupe slot = LOG_DEDUPE_INIT;
    char ended[256] = "";

    log_set_level(LOG_ERROR); /* the messages below are warnings: counted, not written */

    /* two workers see an outage's two causes, interleaved */
    CHECK(log_dedupe_report(&slot, LOG_WARN, "closed"));
    CHECK(log_dedupe_report(&slot, LOG_WARN, "refused"));
    CHECK(!log_dedupe_report(&slot, LOG_WARN, "closed"));
    CHECK(!log_dedupe_report(&slot, LOG_WARN, "refused"));
    CHECK(!log_dedupe_report(&slot, LOG_WARN, "closed"));

    /* the end of the condition reports its latest message; after it, all is new again */
    CHECK(log_dedupe_clear(&slot, ended, sizeof(ended)));
    CHECK_STR(ended, "refused");
    CHECK(!log_dedupe_clear(&slot, ended, sizeof(ended)));
    CHECK(log_dedupe_report(&slot, LOG_WARN, "closed"));

    /* only the LOG_DEDUPE_KEPT latest are kept: the oldest is logged again */
    CHECK(log_dedupe_report(&slot, LOG_WARN, "b"));
    CHECK(log_dedupe_report(&slot, LOG_WARN, "c"));
    CHECK(log_dedupe_report(&slot, LOG_WARN, "d"));
    CHECK(!log_dedupe_report(&slot, LOG_WARN, "closed"));
    CHECK(log_dedupe_report(&slot, LOG_WARN, "e"));
    CHECK(log_dedupe_report(&slot, LOG_WARN, "closed"));
    CHECK(!log_dedupe_report(&slot, LOG_WARN, "e"));
    CHECK(log_dedupe_clear(&slot, ended, sizeof(ended)));
    CHECK_STR(ended, "closed");

    /* zeroed memory with an initialised lock is an empty slot (xcalloc'd structs) */
    static struct log_dedupe zeroed;
    pthread_mutex_init(&zeroed.lock, NULL);
    CHECK(!log_dedupe_clear(&zeroed, ended, sizeof(ended)));
    CHECK(log_dedupe_report(&zeroed, LOG_WARN, "first"));
    pthread_mutex_destroy(&zeroed.lock);
    return check_summary("test_log");
}
