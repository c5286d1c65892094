/* Allocation wrappers that never return NULL: on exhaustion they log and abort().
 * Callable from any thread. */
#ifndef APP_XMALLOC_H
#define APP_XMALLOC_H

#include <stddef.h>

/* Each returns memory the caller frees with free(). */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrndup(const char *s, size_t n);

#endif
