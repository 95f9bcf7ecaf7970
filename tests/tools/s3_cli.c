/* Test driver for lib/aws/s3: one S3 call per run, credentials and region from
 * the environment (AWS_* as the aws CLI reads them), endpoint from
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.
 *
 *   s3_cli [--page-size N] list BUCKET [PREFIX]       keys, one a line
 *   s3_cli [--page-size N] versions BUCKET [PREFIX]   KEY\tVERSION\t(version|marker)
 *   s3_cli get BUCKET KEY                             body on stdout, "etag: ETAG" on stderr
 *   s3_cli put [--if-none-match] [--if-match ETAG] [--content-type T] BUCKET KEY
 *                                                     body from stdin, "etag: ETAG" on stderr
 *   s3_cli delete BUCKET KEY
 *   s3_cli delete-many BUCKET KEY...                  per-key errors on stdout
 *   s3_cli [--page-size N] purge BUCKET PREFIX        stats as JSON
 *   s3_cli parse-url URL                              {"bucket":..,"prefix":..}
 *
 * Failures: "s3_cli: NAME: detail" on stderr (NAME from jb_err_name) and
 * exit 2 for invalid input, 1 for anything else. */
#include "base/err.h"
#include "aws/s3.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STDIN_MAX (64u * 1024 * 1024)

static int usage(void)
{
    fprintf(stderr, "usage: s3_cli [--page-size N] list|versions|get|put|delete|delete-many|"
                    "purge|parse-url ARGS...\n");
    return 2;
}

static int read_stdin(char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -1;
    for (;;) {
        if (n == cap) {
            if (cap >= STDIN_MAX) {
                free(buf);
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0)
            break;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int cmd_list(struct jb_s3_client *c, const char *bucket, const char *prefix, char *err,
                    size_t errlen)
{
    char *token = NULL;
    int rc;
    for (;;) {
        struct jb_s3_list_page p;
        if ((rc = jb_s3_list(c, bucket, prefix, token, &p, err, errlen)) != 0)
            break;
        for (size_t i = 0; i < p.nkeys; i++)
            printf("%s\n", p.keys[i]);
        free(token);
        token = p.next_token;
        p.next_token = NULL;
        int more = p.truncated;
        jb_s3_list_page_free(&p);
        if (!more)
            break;
    }
    free(token);
    return rc;
}

static int cmd_versions(struct jb_s3_client *c, const char *bucket, const char *prefix, char *err,
                        size_t errlen)
{
    char *km = NULL, *vm = NULL;
    int rc;
    for (;;) {
        struct jb_s3_versions_page p;
        if ((rc = jb_s3_list_versions(c, bucket, prefix, km, vm, &p, err, errlen)) != 0)
            break;
        for (size_t i = 0; i < p.n; i++)
            printf("%s\t%s\t%s\n", p.items[i].key, p.items[i].version_id,
                   p.items[i].delete_marker ? "marker" : "version");
        free(km);
        free(vm);
        km = p.next_key_marker;
        vm = p.next_version_id_marker;
        p.next_key_marker = p.next_version_id_marker = NULL;
        int more = p.truncated;
        jb_s3_versions_page_free(&p);
        if (!more)
            break;
    }
    free(km);
    free(vm);
    return rc;
}

static int cmd_delete_many(struct jb_s3_client *c, const char *bucket, char **keys, size_t n,
                           char *err, size_t errlen)
{
    struct jb_s3_object_id *objs = calloc(n ? n : 1, sizeof(*objs));
    struct jb_s3_delete_result r;
    int rc;
    if (objs == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        objs[i].key = keys[i];
    rc = jb_s3_delete_objects(c, bucket, objs, n, &r, err, errlen);
    if (rc == 0) {
        for (size_t i = 0; i < r.nerrors; i++)
            printf("error\t%s\t%s\t%s\n", r.errors[i].key, r.errors[i].code,
                   r.errors[i].message ? r.errors[i].message : "");
        if (r.nerrors)
            rc = jb_err(err, errlen, JB_ERR_AWS, "%zu keys not deleted", r.nerrors);
        jb_s3_delete_result_free(&r);
    }
    free(objs);
    return rc;
}

static int cmd_purge(struct jb_s3_client *c, const char *bucket, const char *prefix, char *err,
                     size_t errlen)
{
    struct jb_s3_purge_stats st;
    int rc = jb_s3_purge_prefix(c, bucket, prefix, &st, err, errlen);
    /* Stats go out even on failure: tests check how far it got. */
    printf("{\"deleted\": %zu, \"delete_markers\": %zu, \"pages\": %zu, \"batches\": %zu, "
           "\"versioned\": %s}\n",
           st.deleted, st.delete_markers, st.pages, st.batches, st.versioned ? "true" : "false");
    return rc;
}

static int cmd_parse_url(const char *url, char *err, size_t errlen)
{
    struct jb_s3_url u;
    int rc = jb_s3_parse_url(url, &u, err, errlen);
    if (rc)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "bucket", u.bucket);
    cJSON_AddStringToObject(o, "prefix", u.prefix);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
    return 0;
}

int main(int argc, char **argv)
{
    struct jb_s3_config cfg = {0};
    struct jb_s3_client *c = NULL;
    char err[JB_ERRLEN] = "";
    const char *content_type = NULL, *if_match = NULL;
    char etag[JB_S3_ETAG_MAX] = "";
    char *body = NULL;
    size_t len = 0;
    int flags = 0, rc = 0, i = 1;

    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--page-size") == 0 && i + 1 < argc)
            cfg.page_size = atoi(argv[++i]);
        else if (strcmp(argv[i], "--if-none-match") == 0)
            flags |= JB_S3_PUT_IF_NONE_MATCH;
        else if (strcmp(argv[i], "--if-match") == 0 && i + 1 < argc)
            if_match = argv[++i];
        else if (strcmp(argv[i], "--content-type") == 0 && i + 1 < argc)
            content_type = argv[++i];
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    const char *cmd = argv[i++];
    int nargs = argc - i;
    char **a = argv + i;

    if (strcmp(cmd, "parse-url") == 0) {
        if (nargs != 1)
            return usage();
        rc = cmd_parse_url(a[0], err, sizeof(err));
        goto out;
    }
    if (nargs < 1)
        return usage();
    if ((rc = jb_s3_client_new(&cfg, &c, err, sizeof(err))) != 0)
        goto out;
    if (strcmp(cmd, "list") == 0 && nargs <= 2) {
        rc = cmd_list(c, a[0], nargs == 2 ? a[1] : "", err, sizeof(err));
    } else if (strcmp(cmd, "versions") == 0 && nargs <= 2) {
        rc = cmd_versions(c, a[0], nargs == 2 ? a[1] : "", err, sizeof(err));
    } else if (strcmp(cmd, "get") == 0 && nargs == 2) {
        rc = jb_s3_get_etag(c, a[0], a[1], 0, &body, &len, etag, err, sizeof(err));
        if (rc == 0 && fwrite(body, 1, len, stdout) != len)
            rc = jb_err(err, sizeof(err), JB_ERR_IO, "writing stdout failed");
        if (rc == 0)
            fprintf(stderr, "etag: %s\n", etag);
    } else if (strcmp(cmd, "put") == 0 && nargs == 2) {
        if (read_stdin(&body, &len) != 0)
            rc = jb_err(err, sizeof(err), JB_ERR_IO, "reading stdin failed");
        else
            rc = jb_s3_put_if(c, a[0], a[1], body, len, content_type, flags, if_match, etag, err,
                              sizeof(err));
        if (rc == 0)
            fprintf(stderr, "etag: %s\n", etag);
    } else if (strcmp(cmd, "delete") == 0 && nargs == 2) {
        rc = jb_s3_delete(c, a[0], a[1], err, sizeof(err));
    } else if (strcmp(cmd, "delete-many") == 0 && nargs >= 2) {
        rc = cmd_delete_many(c, a[0], a + 1, (size_t)nargs - 1, err, sizeof(err));
    } else if (strcmp(cmd, "purge") == 0 && nargs == 2) {
        rc = cmd_purge(c, a[0], a[1], err, sizeof(err));
    } else {
        jb_s3_client_free(c);
        return usage();
    }
out:
    free(body);
    jb_s3_client_free(c);
    fflush(stdout);
    if (rc) {
        fprintf(stderr, "s3_cli: %s: %s\n", jb_err_name(rc), err);
        return rc == JB_ERR_INVALID ? 2 : 1;
    }
    return 0;
}
