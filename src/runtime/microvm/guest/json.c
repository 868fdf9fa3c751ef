#define _GNU_SOURCE
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

/* The arena: a chain of blocks; values and strings never move once allocated. */
struct jarena {
    struct jarena *next;
    size_t used, cap;
    char data[];
};

#define BLOCK_SIZE (64 * 1024)
#define MAX_VALUES 32768

struct parser {
    const char *p, *end;
    struct jarena *arena;
    size_t values;
    char *err;
    size_t errlen;
};

static void *arena_alloc(struct parser *ps, size_t n) {
    n = (n + 15) & ~(size_t)15;
    struct jarena *a = ps->arena;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        struct jarena *b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a;
        b->used = 0;
        b->cap = cap;
        ps->arena = a = b;
    }
    void *r = a->data + a->used;
    a->used += n;
    return r;
}

void json_free(struct jarena *a) {
    while (a) {
        struct jarena *next = a->next;
        free(a);
        a = next;
    }
}

static bool fail(struct parser *ps, const char *msg) {
    if (ps->err[0] == 0) snprintf(ps->err, ps->errlen, "%s at byte %zu", msg, (size_t)(ps->end - ps->p));
    return false;
}

static void skip_ws(struct parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n')) ps->p++;
}

static int hex4(const char *s) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_seq(const unsigned char *s, const unsigned char *end) {
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
    else return 0;
    if ((size_t)(end - s) < n) return 0;
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

/* Parses a string at ps->p (just after the opening quote) into a fresh NUL-terminated copy. */
static bool parse_string(struct parser *ps, char **out, size_t *outlen) {
    /* The decoded string is never longer than its encoding. */
    const char *q = ps->p;
    while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) return fail(ps, "unterminated string");
    char *s = arena_alloc(ps, (size_t)(q - ps->p) + 1);
    if (!s) return fail(ps, "out of memory");
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) return fail(ps, "control character in string");
        if (c != '\\') {
            size_t len = utf8_seq((const unsigned char *)ps->p, (const unsigned char *)ps->end);
            if (len == 0) return fail(ps, "invalid UTF-8");
            memcpy(s + n, ps->p, len);
            n += len;
            ps->p += len;
            continue;
        }
        char e = ps->p[1];
        ps->p += 2;
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u': {
            int cp = ps->end - ps->p >= 4 ? hex4(ps->p) : -1;
            if (cp < 0) return fail(ps, "bad \\u escape");
            ps->p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(ps, "lone low surrogate");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int lo = ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' ? hex4(ps->p + 2) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return fail(ps, "lone high surrogate");
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) return fail(ps, "NUL in string");
            /* \uXXXX takes 6 bytes of input and at most 3 of output; a pair 12 and 4: it fits. */
            n += put_utf8(s + n, (unsigned)cp);
            break;
        }
        default: return fail(ps, "bad escape");
        }
    }
    ps->p++; /* closing quote */
    s[n] = 0;
    *out = s;
    *outlen = n;
    return true;
}

static bool parse_int(struct parser *ps, int64_t *out) {
    bool neg = false;
    if (*ps->p == '-') {
        neg = true;
        ps->p++;
    }
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return fail(ps, "bad number");
    if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')
        return fail(ps, "leading zero in number");
    uint64_t v = 0;
    int digits = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        if (++digits > 18) return fail(ps, "number out of range");
        v = v * 10 + (uint64_t)(*ps->p++ - '0');
    }
    if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
        return fail(ps, "numbers must be integers");
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

static bool parse_value(struct parser *ps, struct jval *v, int depth);

static bool parse_container(struct parser *ps, struct jval *v, int depth, bool object) {
    if (depth >= JSON_MAX_DEPTH) return fail(ps, "nested too deeply");
    char close = object ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    struct jval **tail = &v->first;
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        struct jval *child = arena_alloc(ps, sizeof *child);
        if (!child) return fail(ps, "out of memory");
        memset(child, 0, sizeof *child);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a key");
            ps->p++;
            char *key;
            size_t keylen;
            if (!parse_string(ps, &key, &keylen)) return false;
            for (struct jval *o = v->first; o; o = o->next)
                if (strcmp(o->key, key) == 0) return fail(ps, "duplicate key");
            child->key = key;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':'");
            ps->p++;
            skip_ws(ps);
        }
        if (!parse_value(ps, child, depth + 1)) return false;
        *tail = child;
        tail = &child->next;
        v->count++;
        skip_ws(ps);
        if (ps->p >= ps->end) return fail(ps, "unterminated container");
        if (*ps->p == close) {
            ps->p++;
            return true;
        }
        if (*ps->p != ',') return fail(ps, "expected ',' or end");
        ps->p++;
        skip_ws(ps);
    }
}

static bool literal(struct parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return fail(ps, "bad literal");
    ps->p += n;
    return true;
}

static bool parse_value(struct parser *ps, struct jval *v, int depth) {
    if (++ps->values > MAX_VALUES) return fail(ps, "too many values");
    if (ps->p >= ps->end) return fail(ps, "unexpected end");
    switch (*ps->p) {
    case '{': v->type = J_OBJ; return parse_container(ps, v, depth, true);
    case '[': v->type = J_ARR; return parse_container(ps, v, depth, false);
    case '"': v->type = J_STR; ps->p++; return parse_string(ps, &v->s, &v->len);
    case 't': v->type = J_BOOL; v->b = true; return literal(ps, "true");
    case 'f': v->type = J_BOOL; v->b = false; return literal(ps, "false");
    case 'n': v->type = J_NULL; return literal(ps, "null");
    default: v->type = J_INT; return parse_int(ps, &v->i);
    }
}

struct jval *json_parse(const char *text, size_t len, struct jarena **arena, char *err, size_t errlen) {
    struct parser ps = {.p = text, .end = text + len, .err = err, .errlen = errlen};
    err[0] = 0;
    struct jval *root = arena_alloc(&ps, sizeof *root);
    bool ok = root != NULL;
    if (ok) {
        memset(root, 0, sizeof *root);
        skip_ws(&ps);
        ok = parse_value(&ps, root, 0);
        skip_ws(&ps);
        if (ok && ps.p != ps.end) ok = fail(&ps, "trailing bytes");
    } else {
        snprintf(err, errlen, "out of memory");
    }
    if (!ok) {
        json_free(ps.arena);
        *arena = NULL;
        return NULL;
    }
    *arena = ps.arena;
    return root;
}

const struct jval *json_get(const struct jval *obj, const char *key) {
    if (!obj || obj->type != J_OBJ) return NULL;
    for (const struct jval *m = obj->first; m; m = m->next)
        if (strcmp(m->key, key) == 0) return m;
    return NULL;
}

/* A field that is absent or null counts as absent. */
static const struct jval *field(const struct jval *o, const char *key, bool required, bool *absent, char *err,
                                size_t errlen) {
    const struct jval *v = json_get(o, key);
    *absent = !v || v->type == J_NULL;
    if (*absent && required) snprintf(err, errlen, "missing field \"%s\"", key);
    return v;
}

bool jget_str(const struct jval *o, const char *key, bool required, const char **out, char *err, size_t errlen) {
    bool absent;
    const struct jval *v = field(o, key, required, &absent, err, errlen);
    if (absent) return !required;
    if (v->type != J_STR) {
        snprintf(err, errlen, "field \"%s\" must be a string", key);
        return false;
    }
    *out = v->s;
    return true;
}

bool jget_int(const struct jval *o, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
              char *err, size_t errlen) {
    bool absent;
    const struct jval *v = field(o, key, required, &absent, err, errlen);
    if (absent) return !required;
    if (v->type != J_INT || v->i < min || v->i > max) {
        snprintf(err, errlen, "field \"%s\" must be an integer in %lld..%lld", key, (long long)min, (long long)max);
        return false;
    }
    *out = v->i;
    return true;
}

bool jget_bool(const struct jval *o, const char *key, bool *out, char *err, size_t errlen) {
    bool absent;
    const struct jval *v = field(o, key, false, &absent, err, errlen);
    if (absent) return true;
    if (v->type != J_BOOL) {
        snprintf(err, errlen, "field \"%s\" must be true or false", key);
        return false;
    }
    *out = v->b;
    return true;
}

bool jget_strv(const struct jval *o, const char *key, bool required, size_t max, char ***out, size_t *n, char *err,
               size_t errlen) {
    bool absent;
    const struct jval *v = field(o, key, required, &absent, err, errlen);
    if (absent) return !required;
    if (v->type != J_ARR || v->count > max) {
        snprintf(err, errlen, "field \"%s\" must be an array of at most %zu strings", key, max);
        return false;
    }
    char **vec = calloc(v->count + 1, sizeof(char *));
    if (!vec) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    size_t i = 0;
    for (const struct jval *e = v->first; e; e = e->next) {
        if (e->type != J_STR) {
            free(vec);
            snprintf(err, errlen, "field \"%s\" must hold only strings", key);
            return false;
        }
        vec[i++] = e->s;
    }
    free(*out);
    *out = vec;
    if (n) *n = i;
    return true;
}
