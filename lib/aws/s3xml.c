/* S3 response parsers on the shared expat walker (xmlwalk.h), and the
 * DeleteObjects request builder.  Each parser looks at the element path of
 * what closes, never at raw bytes. */
#include "aws/s3xml.h"

#include "base/err.h"
#include "base/strbuf.h"
#include "base/xmlwalk.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "S3 response XML"

_Static_assert(JB_S3XML_MAX_TEXT == JB_XML_MAX_TEXT && JB_S3XML_MAX_ENTRIES == JB_XML_MAX_ENTRIES &&
                   JB_S3XML_MAX_DOC == JB_XML_MAX_DOC,
               "s3xml.h's limits are the walker's");

static int take_text(struct jb_xml_walk *w, char **dst, const char *text, size_t len)
{
    return jb_xml_take_text(w, dst, text, len, 0);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* In-place form decoding ('+' is a space), as S3 does with encoding-type=url. */
static int url_decode(char *s, char *err, size_t errlen)
{
    char *o = s;
    for (const char *i = s; *i; i++) {
        if (*i == '+') {
            *o++ = ' ';
        } else if (*i == '%') {
            int hi = hexval(i[1]), lo = hi < 0 ? -1 : hexval(i[2]);
            if (hi < 0 || lo < 0)
                return jb_err(err, errlen, JB_ERR_PARSE,
                              "S3 response XML: bad %%-escape in a URL-encoded key");
            if (hi == 0 && lo == 0)
                return jb_err(err, errlen, JB_ERR_PARSE,
                              "S3 response XML: a URL-encoded key holds a NUL byte");
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = *i;
        }
    }
    *o = '\0';
    return 0;
}

static int check_key(const char *key, char *err, size_t errlen)
{
    if (strlen(key) > JB_S3_KEY_MAX)
        return jb_err(err, errlen, JB_ERR_PARSE, "S3 response XML: a key longer than %u bytes",
                      JB_S3_KEY_MAX);
    return 0;
}

/* ---- ListObjectsV2 ---------------------------------------------------- */

struct list_ctx {
    struct jb_s3_list_page *out;
    size_t cap;
    char *key; /* <Key> of the <Contents> being read */
    char *encoding;
};

static int list_start(struct jb_xml_walk *w, int depth)
{
    struct list_ctx *c = w->ctx;
    if (depth == 2 && jb_xml_is(w, 2, "Contents")) {
        free(c->key);
        c->key = NULL;
    }
    return 0;
}

static int list_end(struct jb_xml_walk *w, int depth, const char *text, size_t len)
{
    struct list_ctx *c = w->ctx;
    struct jb_s3_list_page *o = c->out;
    if (depth == 3 && jb_xml_is(w, 2, "Contents") && jb_xml_is(w, 3, "Key"))
        return take_text(w, &c->key, text, len);
    if (depth == 2 && jb_xml_is(w, 2, "Contents")) {
        if (c->key == NULL)
            return jb_err(w->err, w->errlen, JB_ERR_PARSE,
                          "S3 response XML: <Contents> without <Key>");
        int rc = jb_xml_grow(w, (void **)&o->keys, o->nkeys, &c->cap, sizeof(*o->keys));
        if (rc)
            return rc;
        o->keys[o->nkeys++] = c->key;
        c->key = NULL;
        return 0;
    }
    if (depth == 2 && jb_xml_is(w, 2, "IsTruncated"))
        return jb_xml_parse_bool(w, text, &o->truncated);
    if (depth == 2 && jb_xml_is(w, 2, "NextContinuationToken"))
        return take_text(w, &o->next_token, text, len);
    if (depth == 2 && jb_xml_is(w, 2, "EncodingType"))
        return take_text(w, &c->encoding, text, len);
    return 0;
}

void jb_s3_list_page_free(struct jb_s3_list_page *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nkeys; i++)
        free(p->keys[i]);
    free(p->keys);
    free(p->next_token);
    memset(p, 0, sizeof(*p));
}

int jb_s3xml_parse_list(const char *xml, size_t len, struct jb_s3_list_page *out, char *err,
                        size_t errlen)
{
    struct list_ctx c = {.out = out};
    struct jb_xml_walk *w = calloc(1, sizeof(*w));
    int rc;

    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "S3 response XML: out of memory");
    *w = (struct jb_xml_walk){
        .what = WHAT,
        .error_root = "Error",
        .error_label = "S3",
        .root = "ListBucketResult",
        .on_start = list_start,
        .on_end = list_end,
        .ctx = &c,
        .err = err,
        .errlen = errlen,
    };
    rc = jb_xml_walk_run(w, xml, len);
    if (rc)
        goto out;
    if (out->truncated && out->next_token == NULL) {
        rc = jb_err(err, errlen, JB_ERR_PARSE,
                    "S3 response XML: IsTruncated without NextContinuationToken");
        goto out;
    }
    int decode = c.encoding != NULL && strcmp(c.encoding, "url") == 0;
    for (size_t i = 0; i < out->nkeys; i++) {
        if (decode && (rc = url_decode(out->keys[i], err, errlen)) != 0)
            goto out;
        if ((rc = check_key(out->keys[i], err, errlen)) != 0)
            goto out;
    }
out:
    free(c.key);
    free(c.encoding);
    free(w);
    if (rc)
        jb_s3_list_page_free(out);
    return rc;
}

/* ---- ListObjectVersions ----------------------------------------------- */

struct versions_ctx {
    struct jb_s3_versions_page *out;
    size_t cap;
    struct jb_s3_version cur;
    char *is_latest;
    char *encoding;
};

static void version_clear(struct versions_ctx *c)
{
    free(c->cur.key);
    free(c->cur.version_id);
    free(c->is_latest);
    memset(&c->cur, 0, sizeof(c->cur));
    c->is_latest = NULL;
}

static int versions_start(struct jb_xml_walk *w, int depth)
{
    if (depth == 2 && (jb_xml_is(w, 2, "Version") || jb_xml_is(w, 2, "DeleteMarker")))
        version_clear(w->ctx);
    return 0;
}

static int versions_end(struct jb_xml_walk *w, int depth, const char *text, size_t len)
{
    struct versions_ctx *c = w->ctx;
    struct jb_s3_versions_page *o = c->out;
    int entry = jb_xml_is(w, 2, "Version") || jb_xml_is(w, 2, "DeleteMarker");
    int rc;

    if (depth == 3 && entry) {
        if (jb_xml_is(w, 3, "Key"))
            return take_text(w, &c->cur.key, text, len);
        if (jb_xml_is(w, 3, "VersionId"))
            return take_text(w, &c->cur.version_id, text, len);
        if (jb_xml_is(w, 3, "IsLatest"))
            return take_text(w, &c->is_latest, text, len);
        return 0;
    }
    if (depth == 2 && entry) {
        if (c->cur.key == NULL || c->cur.version_id == NULL)
            return jb_err(w->err, w->errlen, JB_ERR_PARSE, "S3 response XML: <%s> without <%s>",
                          jb_xml_at(w, 2), c->cur.key == NULL ? "Key" : "VersionId");
        if (c->is_latest && (rc = jb_xml_parse_bool(w, c->is_latest, &c->cur.is_latest)) != 0)
            return rc;
        if ((rc = jb_xml_grow(w, (void **)&o->items, o->n, &c->cap, sizeof(*o->items))) != 0)
            return rc;
        c->cur.delete_marker = jb_xml_is(w, 2, "DeleteMarker");
        o->items[o->n++] = c->cur;
        memset(&c->cur, 0, sizeof(c->cur));
        free(c->is_latest);
        c->is_latest = NULL;
        return 0;
    }
    if (depth == 2 && jb_xml_is(w, 2, "IsTruncated"))
        return jb_xml_parse_bool(w, text, &o->truncated);
    if (depth == 2 && jb_xml_is(w, 2, "NextKeyMarker"))
        return take_text(w, &o->next_key_marker, text, len);
    if (depth == 2 && jb_xml_is(w, 2, "NextVersionIdMarker"))
        return take_text(w, &o->next_version_id_marker, text, len);
    if (depth == 2 && jb_xml_is(w, 2, "EncodingType"))
        return take_text(w, &c->encoding, text, len);
    return 0;
}

void jb_s3_versions_page_free(struct jb_s3_versions_page *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].key);
        free(p->items[i].version_id);
    }
    free(p->items);
    free(p->next_key_marker);
    free(p->next_version_id_marker);
    memset(p, 0, sizeof(*p));
}

int jb_s3xml_parse_versions(const char *xml, size_t len, struct jb_s3_versions_page *out, char *err,
                            size_t errlen)
{
    struct versions_ctx c = {.out = out};
    struct jb_xml_walk *w = calloc(1, sizeof(*w));
    int rc;

    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "S3 response XML: out of memory");
    *w = (struct jb_xml_walk){
        .what = WHAT,
        .error_root = "Error",
        .error_label = "S3",
        .root = "ListVersionsResult",
        .alt_root = "ListBucketResult",
        .on_start = versions_start,
        .on_end = versions_end,
        .ctx = &c,
        .err = err,
        .errlen = errlen,
    };
    rc = jb_xml_walk_run(w, xml, len);
    if (rc)
        goto out;
    /* Without a key marker a caller would ask for the same page forever. */
    if (out->truncated && out->next_key_marker == NULL) {
        rc =
            jb_err(err, errlen, JB_ERR_PARSE, "S3 response XML: IsTruncated without NextKeyMarker");
        goto out;
    }
    int decode = c.encoding != NULL && strcmp(c.encoding, "url") == 0;
    for (size_t i = 0; i < out->n; i++) {
        if (decode && (rc = url_decode(out->items[i].key, err, errlen)) != 0)
            goto out;
        if ((rc = check_key(out->items[i].key, err, errlen)) != 0)
            goto out;
    }
    if (decode && out->next_key_marker && (rc = url_decode(out->next_key_marker, err, errlen)) != 0)
        goto out;
out:
    version_clear(&c);
    free(c.encoding);
    free(w);
    if (rc)
        jb_s3_versions_page_free(out);
    return rc;
}

/* ---- DeleteObjects ---------------------------------------------------- */

struct delete_ctx {
    struct jb_s3_delete_result *out;
    size_t cap;
    struct jb_s3_delete_error cur;
};

static void delete_error_clear(struct jb_s3_delete_error *e)
{
    free(e->key);
    free(e->version_id);
    free(e->code);
    free(e->message);
    memset(e, 0, sizeof(*e));
}

static int delete_start(struct jb_xml_walk *w, int depth)
{
    struct delete_ctx *c = w->ctx;
    if (depth == 2 && jb_xml_is(w, 2, "Error"))
        delete_error_clear(&c->cur);
    return 0;
}

static int delete_end(struct jb_xml_walk *w, int depth, const char *text, size_t len)
{
    struct delete_ctx *c = w->ctx;
    struct jb_s3_delete_result *o = c->out;

    if (depth == 3 && jb_xml_is(w, 2, "Error")) {
        /* Message text is free-form and may be empty. */
        if (jb_xml_is(w, 3, "Key"))
            return take_text(w, &c->cur.key, text, len);
        if (jb_xml_is(w, 3, "VersionId"))
            return take_text(w, &c->cur.version_id, text, len);
        if (jb_xml_is(w, 3, "Code"))
            return take_text(w, &c->cur.code, text, len);
        if (jb_xml_is(w, 3, "Message") && len > 0)
            return take_text(w, &c->cur.message, text, len);
        return 0;
    }
    if (depth == 2 && jb_xml_is(w, 2, "Error")) {
        if (c->cur.key == NULL || c->cur.code == NULL)
            return jb_err(w->err, w->errlen, JB_ERR_PARSE,
                          "S3 response XML: <Error> entry without <%s>",
                          c->cur.key == NULL ? "Key" : "Code");
        int rc = jb_xml_grow(w, (void **)&o->errors, o->nerrors, &c->cap, sizeof(*o->errors));
        if (rc)
            return rc;
        o->errors[o->nerrors++] = c->cur;
        memset(&c->cur, 0, sizeof(c->cur));
        return 0;
    }
    if (depth == 2 && jb_xml_is(w, 2, "Deleted")) {
        if (o->ndeleted >= JB_S3XML_MAX_ENTRIES)
            return jb_err(w->err, w->errlen, JB_ERR_PARSE,
                          "S3 response XML: more than %u entries in one page",
                          JB_S3XML_MAX_ENTRIES);
        o->ndeleted++;
    }
    return 0;
}

void jb_s3_delete_result_free(struct jb_s3_delete_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nerrors; i++)
        delete_error_clear(&r->errors[i]);
    free(r->errors);
    memset(r, 0, sizeof(*r));
}

int jb_s3xml_parse_delete(const char *xml, size_t len, struct jb_s3_delete_result *out, char *err,
                          size_t errlen)
{
    struct delete_ctx c = {.out = out};
    struct jb_xml_walk *w = calloc(1, sizeof(*w));
    int rc;

    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "S3 response XML: out of memory");
    *w = (struct jb_xml_walk){
        .what = WHAT,
        .error_root = "Error",
        .error_label = "S3",
        .root = "DeleteResult",
        .on_start = delete_start,
        .on_end = delete_end,
        .ctx = &c,
        .err = err,
        .errlen = errlen,
    };
    rc = jb_xml_walk_run(w, xml, len);
    delete_error_clear(&c.cur);
    free(w);
    if (rc)
        jb_s3_delete_result_free(out);
    return rc;
}

/* ---- Error documents -------------------------------------------------- */

int jb_s3xml_parse_error(const char *xml, size_t len, struct jb_s3_error *out, char *err,
                         size_t errlen)
{
    struct jb_xml_walk *w = calloc(1, sizeof(*w));
    int rc;

    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "S3 response XML: out of memory");
    /* The root check turns any other root into JB_ERR_PARSE; <Error> itself
     * comes back as JB_ERR_AWS, which is success here. */
    *w = (struct jb_xml_walk){
        .what = WHAT,
        .error_root = "Error",
        .error_label = "S3",
        .root = "Error",
        .err = err,
        .errlen = errlen,
    };
    rc = jb_xml_walk_run(w, xml, len);
    if (rc == JB_ERR_AWS) {
        _Static_assert(sizeof(out->code) == sizeof(w->errdoc.code) &&
                           sizeof(out->message) == sizeof(w->errdoc.message),
                       "the same error fields");
        memcpy(out->code, w->errdoc.code, sizeof(out->code));
        memcpy(out->message, w->errdoc.message, sizeof(out->message));
        rc = 0;
        if (err && errlen)
            err[0] = '\0';
    }
    free(w);
    return rc;
}

/* ---- DeleteObjects request -------------------------------------------- */

/* Length of the valid UTF-8 sequence at s that XML 1.0 allows, or 0. */
static size_t utf8_char(const unsigned char *s)
{
    uint32_t cp;
    size_t n;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0; /* overlong or out of range */
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0; /* surrogates and non-characters XML refuses */
    return n;
}

/* Appends s as XML element text.  CR, LF and tab go as character
 * references so that XML end-of-line handling cannot change the key. */
static int put_escaped(struct jb_strbuf *b, const char *field, const char *s, char *err,
                       size_t errlen)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        const char *rep = NULL;
        switch (*u) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        case '\t':
            rep = "&#9;";
            break;
        case '\n':
            rep = "&#10;";
            break;
        case '\r':
            rep = "&#13;";
            break;
        default:
            break;
        }
        if (rep) {
            jb_sb_adds(b, rep);
            u++;
            continue;
        }
        if (*u < 0x20)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "%s: control character 0x%02x cannot be sent in XML", field, *u);
        size_t n = utf8_char(u);
        if (n == 0)
            return jb_err(err, errlen, JB_ERR_INVALID, "%s: not valid UTF-8", field);
        jb_sb_add(b, u, n);
        u += n;
    }
    return 0;
}

int jb_s3xml_build_delete(const struct jb_s3_object_id *objs, size_t n, int quiet, char **body,
                          size_t *bodylen, char md5_b64[JB_S3_MD5_B64_LEN], char *err,
                          size_t errlen)
{
    struct jb_strbuf b = {0};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = 0;

    *body = NULL;
    *bodylen = 0;
    md5_b64[0] = '\0';
    if (n == 0 || n > JB_S3_DELETE_BATCH)
        return jb_err(err, errlen, JB_ERR_INVALID, "DeleteObjects: %zu objects, must be 1 to %u", n,
                      JB_S3_DELETE_BATCH);
    jb_sb_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if (quiet)
        jb_sb_adds(&b, "<Quiet>true</Quiet>");
    for (size_t i = 0; i < n; i++) {
        const char *key = objs[i].key;
        size_t klen = key ? strlen(key) : 0;
        if (klen == 0 || klen > JB_S3_KEY_MAX) {
            rc = jb_err(err, errlen, JB_ERR_INVALID,
                        "DeleteObjects: key %zu is %zu bytes, must be 1 to %u", i, klen,
                        JB_S3_KEY_MAX);
            goto out;
        }
        jb_sb_adds(&b, "<Object><Key>");
        if ((rc = put_escaped(&b, "DeleteObjects key", key, err, errlen)) != 0)
            goto out;
        jb_sb_adds(&b, "</Key>");
        if (objs[i].version_id) {
            if (objs[i].version_id[0] == '\0' || strlen(objs[i].version_id) > 1024) {
                rc = jb_err(err, errlen, JB_ERR_INVALID,
                            "DeleteObjects: version id of key %zu is empty or too long", i);
                goto out;
            }
            jb_sb_adds(&b, "<VersionId>");
            rc = put_escaped(&b, "DeleteObjects version id", objs[i].version_id, err, errlen);
            if (rc)
                goto out;
            jb_sb_adds(&b, "</VersionId>");
        }
        jb_sb_adds(&b, "</Object>");
    }
    jb_sb_adds(&b, "</Delete>");
    if (b.failed) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "DeleteObjects: out of memory");
        goto out;
    }
    if (EVP_Digest(b.p, b.len, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16) {
        rc = jb_err(err, errlen, JB_ERR_CRYPTO, "DeleteObjects: MD5 of the body failed");
        goto out;
    }
    EVP_EncodeBlock((unsigned char *)md5_b64, md, 16);
    *bodylen = b.len;
    *body = jb_sb_take(&b);
out:
    jb_sb_free(&b);
    return rc;
}
