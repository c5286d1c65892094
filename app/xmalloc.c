/* Allocation wrappers: the single place that decides what running out of memory means
 * (log one line, abort). Thread-safe, like the allocator beneath. */
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void out_of_memory(size_t size)
{
    char line[96];
    int n = snprintf(line, sizeof(line), "redisapp: out of memory allocating %zu bytes\n", size);

    if (n > 0) (void)!write(STDERR_FILENO, line, (size_t)n);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size == 0 ? 1 : size);

    if (p == NULL) out_of_memory(size);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);

    if (p == NULL) out_of_memory(count * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size == 0 ? 1 : size);

    if (p == NULL) out_of_memory(size);
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
