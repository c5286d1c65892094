/* Minimal test macros: CHECK keeps going and counts failures; check_summary() ends main(). */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        check_count++;                                                                             \
        if (!(cond)) {                                                                             \
            check_failures++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(actual, expected)                                                                \
    do {                                                                                           \
        const char *check_a = (actual), *check_e = (expected);                                     \
        check_count++;                                                                             \
        if (check_a == NULL || strcmp(check_a, check_e) != 0) {                                    \
            check_failures++;                                                                      \
            fprintf(stderr,                                                                        \
                    "%s:%d: CHECK_STR failed: %s\n  got:      \"%s\"\n  expected: \"%s\"\n",       \
                    __FILE__, __LINE__, #actual, check_a ? check_a : "(null)", check_e);           \
        }                                                                                          \
    } while (0)

static inline int check_summary(const char *name)
{
    if (check_failures != 0) {
        fprintf(stderr, "%s: %d of %d checks failed\n", name, check_failures, check_count);
        return 1;
    }
    printf("%s: %d checks passed\n", name, check_count);
    return 0;
}

#endif
