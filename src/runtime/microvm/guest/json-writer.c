/* The JSON writer: replies and events. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

void jw_init(struct jw *w) {
    memset(w, 0, sizeof *w);
    w->first[0] = true;
}

void jw_free(struct jw *w) {
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

static void put(struct jw *w, const char *s, size_t n) {
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1) cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) abort();
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

/* A comma before every value but the first of its container (a key's value follows its key). */
static void sep(struct jw *w) {
    if (!w->first[w->depth]) put(w, ",", 1);
    w->first[w->depth] = false;
}

static void open_(struct jw *w, const char *c) {
    sep(w);
    put(w, c, 1);
    if (w->depth + 1 < JW_MAX_DEPTH) w->depth++;
    w->first[w->depth] = true;
}

static void close_(struct jw *w, const char *c) {
    put(w, c, 1);
    if (w->depth > 0) w->depth--;
}

void jw_obj(struct jw *w) { open_(w, "{"); }
void jw_end_obj(struct jw *w) { close_(w, "}"); }
void jw_arr(struct jw *w) { open_(w, "["); }
void jw_end_arr(struct jw *w) { close_(w, "]"); }

static void quoted(struct jw *w, const char *s, size_t n) {
    put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(w, esc, 2);
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(w, esc, 6);
        } else if (c >= 0x80) {
            /* Valid UTF-8 goes as it is; a stray byte (a path from an image) as its code point. */
            size_t len = utf8_seq((const unsigned char *)s + i, (const unsigned char *)s + n);
            if (len > 0) {
                put(w, s + i, len);
                i += len - 1;
            } else {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                put(w, esc, 6);
            }
        } else {
            put(w, (const char *)&c, 1);
        }
    }
    put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key) {
    sep(w);
    quoted(w, key, strlen(key));
    put(w, ":", 1);
    w->first[w->depth] = true; /* the value takes no comma */
}

static void after_value(struct jw *w) { w->first[w->depth] = false; }

void jw_strn(struct jw *w, const char *s, size_t n) {
    sep(w);
    quoted(w, s, n);
    after_value(w);
}

void jw_str(struct jw *w, const char *s) { jw_strn(w, s, strlen(s)); }

void jw_int(struct jw *w, int64_t v) {
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRId64, v);
    sep(w);
    put(w, num, (size_t)n);
}

void jw_bool(struct jw *w, bool v) {
    sep(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w) {
    sep(w);
    put(w, "null", 4);
}

void jw_kstr(struct jw *w, const char *key, const char *s) {
    jw_key(w, key);
    jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v) {
    jw_key(w, key);
    jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v) {
    jw_key(w, key);
    jw_bool(w, v);
}
