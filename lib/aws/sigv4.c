/* SigV4 (sigv4.h): canonical request, string to sign and signature, every
 * URI encoding done here so what is signed is what is sent.  Header values
 * that hold a session token are wiped once the request is built. */
#include "aws/sigv4.h"

#include "base/err.h"
#include "base/secret.h"
#include "base/strbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Headers botocore never signs: proxies and clients rewrite them. */
static const char *const unsigned_headers[] = {"expect", "user-agent", "x-amzn-trace-id"};
/* Headers this module sets itself; a caller passing one is a bug. */
static const char *const reserved_headers[] = {"host", "authorization", "x-amz-date",
                                               "x-amz-security-token", "x-amz-content-sha256"};

static int is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int jb_uri_encode(const char *in, size_t len, int keep_slash, char **out)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o;
    size_t i, j = 0;

    *out = NULL;
    if (len > ((size_t)-1) / 3 - 1)
        return JB_ERR_NOMEM;
    if ((o = malloc(len * 3 + 1)) == NULL)
        return JB_ERR_NOMEM;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            o[j++] = (char)c;
        } else {
            o[j++] = '%';
            o[j++] = hex[c >> 4];
            o[j++] = hex[c & 15];
        }
    }
    o[j] = '\0';
    *out = o;
    return 0;
}

/* Lower-case hex SHA-256 of data. */
static int sha256_hex(const void *data, size_t len, char out[JB_SHA256_HEX_LEN])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    size_t i;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return JB_ERR_CRYPTO;
    for (i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* botocore's remove_dot_segments: RFC 3986 5.2.4 plus dropping empty
 * segments, since AWS services other than S3 fold "//". */
static char *remove_dot_segments(const char *p)
{
    size_t n = strlen(p), nseg = 0, i, *starts, *lens;
    struct jb_strbuf sb = {0};
    const char *s = p;

    starts = calloc(n + 1, sizeof(*starts));
    lens = calloc(n + 1, sizeof(*lens));
    if (starts == NULL || lens == NULL)
        goto out;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l == 0 || (l == 1 && s[0] == '.')) {
            /* skip */
        } else if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (nseg)
                nseg--;
        } else {
            starts[nseg] = (size_t)(s - p);
            lens[nseg++] = l;
        }
        s += l;
        if (*s == '/')
            s++;
    }
    if (n && p[0] == '/')
        jb_sb_addc(&sb, '/');
    for (i = 0; i < nseg; i++) {
        if (i)
            jb_sb_addc(&sb, '/');
        jb_sb_add(&sb, p + starts[i], lens[i]);
    }
    if (n && p[n - 1] == '/' && nseg)
        jb_sb_addc(&sb, '/');
out:
    free(starts);
    free(lens);
    if (starts == NULL || lens == NULL) {
        jb_sb_free(&sb);
        return NULL;
    }
    return jb_sb_take(&sb);
}

static int is_s3(const char *service)
{
    return strcmp(service, "s3") == 0;
}

int jb_sigv4_wire_path(const char *service, const char *path, char **out)
{
    char *enc = NULL, *norm;
    int rc;

    *out = NULL;
    if (path == NULL || path[0] == '\0')
        path = "/";
    if ((rc = jb_uri_encode(path, strlen(path), 1, &enc)) != 0)
        return rc;
    if (is_s3(service)) {
        *out = enc;
        return 0;
    }
    norm = remove_dot_segments(enc);
    free(enc);
    if (norm == NULL)
        return JB_ERR_NOMEM;
    if (norm[0] == '\0') {
        free(norm);
        norm = strdup("/");
        if (norm == NULL)
            return JB_ERR_NOMEM;
    }
    *out = norm;
    return 0;
}

struct qpair {
    char *k, *v;
};

static int cmp_qpair(const void *a, const void *b)
{
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static int canonical_query(const struct jb_sigv4_request *req, struct jb_strbuf *sb)
{
    struct qpair *q;
    size_t i;
    int rc = 0;

    if (req->nquery == 0)
        return 0;
    if ((q = calloc(req->nquery, sizeof(*q))) == NULL)
        return JB_ERR_NOMEM;
    for (i = 0; i < req->nquery && rc == 0; i++) {
        const char *k = req->query[i].key, *v = req->query[i].value ? req->query[i].value : "";
        if ((rc = jb_uri_encode(k, strlen(k), 0, &q[i].k)) == 0)
            rc = jb_uri_encode(v, strlen(v), 0, &q[i].v);
    }
    if (rc == 0) {
        qsort(q, req->nquery, sizeof(*q), cmp_qpair);
        for (i = 0; i < req->nquery; i++)
            jb_sb_addf(sb, "%s%s=%s", i ? "&" : "", q[i].k, q[i].v);
    }
    for (i = 0; i < req->nquery; i++) {
        free(q[i].k);
        free(q[i].v);
    }
    free(q);
    return rc;
}

struct hdr {
    char *name;  /* lower case */
    char *value; /* trimmed, runs of blanks folded to one space */
    size_t order;
};

static int cmp_hdr(const void *a, const void *b)
{
    const struct hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trimall: what botocore does with ' '.join(value.split()). */
static char *trimall(const char *v)
{
    struct jb_strbuf sb = {0};
    int pending = 0;

    for (; *v; v++) {
        if (is_blank(*v)) {
            pending = sb.len > 0;
            continue;
        }
        if (pending)
            jb_sb_addc(&sb, ' ');
        pending = 0;
        jb_sb_addc(&sb, *v);
    }
    return jb_sb_take(&sb);
}

static int check_header(const char *name, const char *value, char *err, size_t errlen)
{
    const char *c;

    if (name == NULL || name[0] == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: empty header name");
    for (c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && strchr("!#$%&'*+-.^_`|~", *c) == NULL)
            return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: header name '%.64s' is invalid",
                          name);
    if (value == NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: header %.64s has no value", name);
    for (c = value; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if ((u < 0x20 && u != '\t') || u >= 0x7f)
            return jb_err(err, errlen, JB_ERR_INVALID,
                          "sigv4: header %.64s value holds a control or non-ASCII byte", name);
    }
    return 0;
}

static int add_hdr(struct hdr *h, size_t *n, const char *name, const char *value)
{
    size_t i;

    h[*n].order = *n;
    if ((h[*n].name = strdup(name)) == NULL || (h[*n].value = trimall(value)) == NULL)
        return JB_ERR_NOMEM;
    for (i = 0; h[*n].name[i]; i++)
        h[*n].name[i] = (char)tolower((unsigned char)h[*n].name[i]);
    (*n)++;
    return 0;
}

static int check_name(const char *what, const char *v, char *err, size_t errlen)
{
    const char *c;

    if (v == NULL || v[0] == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: %s is empty", what);
    for (c = v; *c; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
            return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: %s '%.64s' is invalid", what, v);
    return 0;
}

static int check_request(const struct jb_sigv4_request *req, const struct jb_aws_creds *creds,
                         char *err, size_t errlen)
{
    const char *c;
    int rc;

    if (req->method == NULL || req->method[0] == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: method is empty");
    for (c = req->method; *c; c++)
        if (!isupper((unsigned char)*c))
            return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: method '%.16s' is invalid",
                          req->method);
    if (req->host == NULL || req->host[0] == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: host is empty");
    for (c = req->host; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f || *c == '/')
            return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: host is invalid");
    if (req->path != NULL && req->path[0] != '\0' && req->path[0] != '/')
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: path must start with '/'");
    if ((rc = check_name("service", req->service, err, errlen)) != 0 ||
        (rc = check_name("region", req->region, err, errlen)) != 0)
        return rc;
    if (req->nquery && req->query == NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: query is NULL");
    if (req->bodylen && req->body == NULL)
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: body is NULL");
    for (size_t i = 0; i < req->nquery; i++)
        if (req->query[i].key == NULL)
            return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: query key %zu is NULL", i);
    if (creds == NULL || creds->access_key_id[0] == '\0' || creds->secret_access_key == NULL ||
        creds->secret_access_key[0] == '\0')
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: credentials are incomplete");
    for (c = creds->access_key_id; *c; c++)
        if (!isalnum((unsigned char)*c))
            return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: access key id is invalid");
    if (req->payload_hash != NULL && strcmp(req->payload_hash, JB_SIGV4_UNSIGNED_PAYLOAD) != 0) {
        if (strlen(req->payload_hash) != 64)
            return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: payload_hash is not SHA-256 hex");
        for (c = req->payload_hash; *c; c++)
            if (!isxdigit((unsigned char)*c) || isupper((unsigned char)*c))
                return jb_err(err, errlen, JB_ERR_INVALID,
                              "sigv4: payload_hash is not lower-case hex");
    }
    return 0;
}

/* Everything both jb_sigv4_sign and jb_sigv4_canonical need. */
struct built {
    char amz_date[JB_AMZ_DATE_LEN];
    char payload_hash[JB_SHA256_HEX_LEN + 16];
    char scope[256];
    char *canonical;
    char *signed_headers;
    char *sts;
};

static void built_free(struct built *b)
{
    free(b->canonical);
    free(b->signed_headers);
    free(b->sts);
}

static int build(const struct jb_sigv4_request *req, const struct jb_aws_creds *creds,
                 struct built *b, char *err, size_t errlen)
{
    struct jb_strbuf cr = {0}, sh = {0}, sts = {0};
    struct hdr *h = NULL;
    size_t nh = 0, i, j;
    char *path = NULL, *enc = NULL, *host = NULL, crhash[JB_SHA256_HEX_LEN];
    struct tm tm;
    int rc;

    memset(b, 0, sizeof(*b));
    if ((rc = check_request(req, creds, err, errlen)) != 0)
        return rc;
    for (i = 0; i < req->nheaders; i++) {
        if ((rc = check_header(req->headers[i].key, req->headers[i].value, err, errlen)) != 0)
            return rc;
        for (j = 0; j < sizeof(reserved_headers) / sizeof(*reserved_headers); j++)
            if (strcasecmp(req->headers[i].key, reserved_headers[j]) == 0)
                return jb_err(err, errlen, JB_ERR_INVALID,
                              "sigv4: header %s is set by the signer, not the caller",
                              reserved_headers[j]);
    }
    if (creds->session_token != NULL &&
        (rc = check_header("x-amz-security-token", creds->session_token, NULL, 0)) != 0)
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: session token holds invalid bytes");

    if (gmtime_r(&req->when, &tm) == NULL ||
        strftime(b->amz_date, sizeof(b->amz_date), "%Y%m%dT%H%M%SZ", &tm) != 16)
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: signing time is out of range");
    if (req->payload_hash != NULL)
        snprintf(b->payload_hash, sizeof(b->payload_hash), "%s", req->payload_hash);
    else if (sha256_hex(req->body ? req->body : "", req->bodylen, b->payload_hash) != 0)
        return jb_err(err, errlen, JB_ERR_CRYPTO, "sigv4: SHA-256 failed");
    if ((size_t)snprintf(b->scope, sizeof(b->scope), "%.8s/%s/%s/aws4_request", b->amz_date,
                         req->region, req->service) >= sizeof(b->scope))
        return jb_err(err, errlen, JB_ERR_INVALID, "sigv4: region or service is too long");

    rc = JB_ERR_NOMEM;
    if ((h = calloc(req->nheaders + 4, sizeof(*h))) == NULL)
        goto out;
    if ((host = strdup(req->host)) == NULL)
        goto out;
    for (i = 0; host[i]; i++)
        host[i] = (char)tolower((unsigned char)host[i]);
    if (add_hdr(h, &nh, "host", host) != 0 || add_hdr(h, &nh, "x-amz-date", b->amz_date) != 0)
        goto out;
    if (creds->session_token != NULL &&
        add_hdr(h, &nh, "x-amz-security-token", creds->session_token) != 0)
        goto out;
    if (is_s3(req->service) && add_hdr(h, &nh, "x-amz-content-sha256", b->payload_hash) != 0)
        goto out;
    for (i = 0; i < req->nheaders; i++) {
        int skip = 0;
        for (j = 0; j < sizeof(unsigned_headers) / sizeof(*unsigned_headers); j++)
            skip |= strcasecmp(req->headers[i].key, unsigned_headers[j]) == 0;
        if (!skip && add_hdr(h, &nh, req->headers[i].key, req->headers[i].value) != 0)
            goto out;
    }
    qsort(h, nh, sizeof(*h), cmp_hdr);

    if ((rc = jb_sigv4_wire_path(req->service, req->path, &path)) != 0)
        goto out;
    jb_sb_adds(&cr, req->method);
    jb_sb_addc(&cr, '\n');
    if (is_s3(req->service)) {
        jb_sb_adds(&cr, path);
    } else {
        /* The wire path, encoded a second time: '%' becomes "%25". */
        if ((rc = jb_uri_encode(path, strlen(path), 1, &enc)) != 0)
            goto out;
        jb_sb_adds(&cr, enc);
    }
    jb_sb_addc(&cr, '\n');
    if ((rc = canonical_query(req, &cr)) != 0)
        goto out;
    jb_sb_addc(&cr, '\n');
    for (i = 0; i < nh; i++) {
        if (i && strcmp(h[i].name, h[i - 1].name) == 0) {
            /* Repeated header: values joined with ',' on one line. */
            cr.len--;
            jb_sb_addf(&cr, ",%s\n", h[i].value);
            continue;
        }
        jb_sb_addf(&cr, "%s:%s\n", h[i].name, h[i].value);
        jb_sb_addf(&sh, "%s%s", sh.len ? ";" : "", h[i].name);
    }
    jb_sb_addf(&cr, "\n%s\n%s", sh.p ? sh.p : "", b->payload_hash);
    rc = JB_ERR_NOMEM;
    if ((b->canonical = jb_sb_take(&cr)) == NULL || (b->signed_headers = jb_sb_take(&sh)) == NULL)
        goto out;
    if (sha256_hex(b->canonical, strlen(b->canonical), crhash) != 0) {
        rc = jb_err(err, errlen, JB_ERR_CRYPTO, "sigv4: SHA-256 failed");
        goto out;
    }
    jb_sb_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", b->amz_date, b->scope, crhash);
    if ((b->sts = jb_sb_take(&sts)) == NULL)
        goto out;
    rc = 0;
out:
    if (rc == JB_ERR_NOMEM)
        jb_err(err, errlen, rc, "sigv4: out of memory");
    if (rc != 0)
        built_free(b);
    for (i = 0; h != NULL && i < nh; i++) {
        free(h[i].name);
        jb_secret_wipe(h[i].value, strlen(h[i].value));
        free(h[i].value);
    }
    free(h);
    free(host);
    free(path);
    free(enc);
    jb_sb_free(&cr);
    jb_sb_free(&sh);
    jb_sb_free(&sts);
    return rc;
}

static int hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int outlen = 0;

    if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out,
             &outlen) == NULL ||
        outlen != 32)
        return -1;
    return 0;
}

int jb_sigv4_sign(const struct jb_sigv4_request *req, const struct jb_aws_creds *creds,
                  struct jb_sigv4_result *out, char *err, size_t errlen)
{
    struct built b;
    size_t slen;
    char *ksecret = NULL, date[9];
    unsigned char *k = NULL, sig[32]; /* kDate, kRegion, kService, kSigning in turn */
    int rc, i;

    memset(out, 0, sizeof(*out));
    if ((rc = jb_secret_init(err, errlen)) != 0)
        return rc;
    if ((rc = build(req, creds, &b, err, errlen)) != 0)
        return rc;
    slen = strlen(creds->secret_access_key);
    ksecret = jb_secret_alloc(slen + 5);
    k = jb_secret_alloc(64);
    if (ksecret == NULL || k == NULL) {
        rc = jb_err(err, errlen, JB_ERR_NOMEM, "sigv4: out of memory");
        goto out;
    }
    memcpy(ksecret, "AWS4", 4);
    memcpy(ksecret + 4, creds->secret_access_key, slen + 1);
    snprintf(date, sizeof(date), "%.8s", b.amz_date);
    rc = jb_err(err, errlen, JB_ERR_CRYPTO, "sigv4: HMAC-SHA256 failed");
    /* Never HMAC in place: key and output halves alternate. */
    if (hmac(ksecret, slen + 4, date, k) != 0 || hmac(k, 32, req->region, k + 32) != 0 ||
        hmac(k + 32, 32, req->service, k) != 0 || hmac(k, 32, "aws4_request", k + 32) != 0 ||
        hmac(k + 32, 32, b.sts, sig) != 0)
        goto out;
    for (i = 0; i < 32; i++)
        snprintf(out->signature + 2 * i, 3, "%02x", sig[i]);
    memcpy(out->amz_date, b.amz_date, sizeof(out->amz_date));
    memcpy(out->payload_hash, b.payload_hash, sizeof(out->payload_hash));
    out->send_content_sha256 = is_s3(req->service);
    if ((size_t)snprintf(out->authorization, sizeof(out->authorization),
                         "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                         creds->access_key_id, b.scope, b.signed_headers,
                         out->signature) >= sizeof(out->authorization)) {
        rc = jb_err(err, errlen, JB_ERR_INVALID, "sigv4: too many signed headers");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    jb_secret_wipe(sig, sizeof(sig));
    jb_secret_free(ksecret);
    jb_secret_free(k);
    built_free(&b);
    return rc;
}

int jb_sigv4_canonical(const struct jb_sigv4_request *req, const struct jb_aws_creds *creds,
                       char **canonical, char **sts, char *err, size_t errlen)
{
    struct built b;
    int rc;

    if ((rc = build(req, creds, &b, err, errlen)) != 0)
        return rc;
    if (canonical != NULL) {
        *canonical = b.canonical;
        b.canonical = NULL;
    }
    if (sts != NULL) {
        *sts = b.sts;
        b.sts = NULL;
    }
    built_free(&b);
    return 0;
}
