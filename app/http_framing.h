/* Request framing (RFC 9112 sections 2.2, 3, 5, 6.1 and 6.3): the rules that make a request head
 * mean one thing only, so that no body is ever read as a request. Applied to the request line and
 * the field lines as the HTTP library split them; http.c feeds them once per request, before any
 * handler runs. Pure functions, no allocation; any thread. */
#ifndef APP_HTTP_FRAMING_H
#define APP_HTTP_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a head is refused. http_framing_status() gives the answer's status (400 or 501). */
enum http_framing_error {
    HTTP_FRAMING_OK,
    HTTP_FRAMING_BAD_METHOD,        /* the method is not a token */
    HTTP_FRAMING_BAD_REQUEST_LINE,  /* parts not one space apart */
    HTTP_FRAMING_BAD_TARGET,        /* a target byte that is not visible ASCII */
    HTTP_FRAMING_BAD_FIELD_NAME,    /* not a token: whitespace before ':' or first */
    HTTP_FRAMING_BAD_FIELD_VALUE,   /* a control character but tab: bare CR, VT... */
    HTTP_FRAMING_OBS_FOLD,          /* a field line continued on the next line */
    HTTP_FRAMING_NO_HOST,           /* HTTP/1.1 without Host */
    HTTP_FRAMING_MANY_HOSTS,        /* more than one Host line */
    HTTP_FRAMING_BAD_HOST,          /* a Host value that is not host[:port] */
    HTTP_FRAMING_MANY_LENGTHS,      /* more than one Content-Length line */
    HTTP_FRAMING_BAD_LENGTH,        /* Content-Length not 1*DIGIT below 2^64 */
    HTTP_FRAMING_LENGTH_AND_CODING, /* Content-Length and Transfer-Encoding */
    HTTP_FRAMING_CODING_IN_HTTP10,  /* Transfer-Encoding in an HTTP/1.0 request */
    HTTP_FRAMING_BAD_CODING,        /* Transfer-Encoding other than one "chunked" */
    HTTP_FRAMING_UNKNOWN_CODING,    /* another coding before the final chunked: 501 */
};

/* How the body is framed once the head is accepted. */
enum http_framing_body {
    HTTP_BODY_NONE,    /* neither Content-Length nor Transfer-Encoding */
    HTTP_BODY_LENGTH,  /* Content-Length: content_length bytes */
    HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
};

/* What one pass over the field lines has seen. Caller's storage; http_framing_init() first. The
 * pointers borrow the field values passed to http_framing_add_field(). */
struct http_framing {
    enum http_framing_error error;    /* the first error found, or HTTP_FRAMING_OK */
    unsigned hosts, lengths, codings; /* field lines seen of each */
    const char *length;               /* the first Content-Length value */
    size_t length_len;
    const char *coding; /* the first Transfer-Encoding value */
    size_t coding_len;
    /* the Transfer-Encoding lines as one list (RFC 9110 5.3) */
    unsigned coding_elements, chunked_count;
    bool chunked_last, unknown_coding, malformed_coding;
    /* results of http_framing_finish() */
    enum http_framing_body body;
    uint64_t content_length;
};

void http_framing_init(struct http_framing *f);

/* Feeds one field line: its name and value as split at the first ':' (the value without leading
 * whitespace). Returns false once the head is known to be refused (f->error says why); later
 * calls change nothing. */
bool http_framing_add_field(struct http_framing *f, const char *name, size_t name_len,
                            const char *value, size_t value_len);

/* After the last field: checks what needs all of them (Host, Content-Length, Transfer-Encoding)
 * and sets f->body and f->content_length. `http11`: the request's version is HTTP/1.1 or a later
 * 1.x. Returns f->error. The only Transfer-Encoding accepted is one line whose value is exactly
 * "chunked" (any case): then any HTTP library that frames "chunked" frames the body the same. */
enum http_framing_error http_framing_finish(struct http_framing *f, bool http11);

/* True when `s` (len bytes) is a token (RFC 9110 5.6.2): 1*tchar. */
bool http_framing_is_token(const char *s, size_t len);

/* True when the request target `s` (len bytes) holds only visible ASCII (0x21-0x7e), at least one.
 */
bool http_framing_target_ok(const char *s, size_t len);

/* True when a field value holds no control character except tab (obs-text is allowed). */
bool http_framing_value_ok(const char *s, size_t len);

/* Parses a Content-Length value: 1*DIGIT, leading zeros allowed, at most 2^64 - 1. Returns 0 and
 * sets *out, or -1. */
int http_framing_content_length(const char *s, size_t len, uint64_t *out);

/* The answer's status for `error`: 501 for HTTP_FRAMING_UNKNOWN_CODING, else 400. */
unsigned http_framing_status(enum http_framing_error error);

/* A short reason for the answer's body, e.g. "Content-Length and Transfer-Encoding together". */
const char *http_framing_reason(enum http_framing_error error);

#endif
