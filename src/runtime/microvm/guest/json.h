/*
 * A strict JSON subset for control messages: objects, arrays, strings (valid UTF-8, no NUL, escapes
 * including \uXXXX), integers that fit in int64 (no fractions or exponents), true, false and null.
 * Duplicate keys, depth beyond JSON_MAX_DEPTH and trailing bytes are errors. Values live in an arena
 * freed at once after the request.
 */
#ifndef NUBIS_GUEST_JSON_H
#define NUBIS_GUEST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_BOOL, J_INT, J_STR, J_ARR, J_OBJ };

struct jval {
    enum jtype type;
    bool b;
    int64_t i;
    char *s; /* J_STR: NUL-terminated */
    size_t len;
    struct jval *first; /* J_ARR/J_OBJ children */
    size_t count;
    const char *key; /* set when a member of an object */
    struct jval *next;
};

struct jarena;

/* Parses text; returns NULL and fills err on any malformed input. Free with json_free. */
struct jval *json_parse(const char *text, size_t len, struct jarena **arena, char *err, size_t errlen);
void json_free(struct jarena *arena);

/* Length of one valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates), or 0. */
size_t utf8_seq(const unsigned char *s, const unsigned char *end);

/* Member of an object, or NULL. */
const struct jval *json_get(const struct jval *obj, const char *key);

/*
 * Typed field readers for request objects. Each returns false and writes a message into err when the
 * field is present with the wrong type or out of range, or when it is required and absent. An absent
 * optional field leaves *out untouched.
 */
bool jget_str(const struct jval *o, const char *key, bool required, const char **out, char *err, size_t errlen);
bool jget_int(const struct jval *o, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
              char *err, size_t errlen);
bool jget_bool(const struct jval *o, const char *key, bool *out, char *err, size_t errlen);
/* An array of strings as a NULL-terminated vector allocated in the arena of the caller (malloc; free it). */
bool jget_strv(const struct jval *o, const char *key, bool required, size_t max, char ***out, size_t *n, char *err,
               size_t errlen);

/* Appends JSON text into a growing buffer (malloc'd; jw_free). Allocation failure aborts the agent. */
#define JW_MAX_DEPTH 16
struct jw {
    char *buf;
    size_t len, cap;
    int depth;
    bool first[JW_MAX_DEPTH];
};
void jw_init(struct jw *w);
void jw_free(struct jw *w);
void jw_obj(struct jw *w);
void jw_end_obj(struct jw *w);
void jw_arr(struct jw *w);
void jw_end_arr(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* key + value shorthands */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);

#endif
