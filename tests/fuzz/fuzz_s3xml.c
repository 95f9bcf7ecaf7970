#include "fuzz.h"
#include "base/err.h"
#include "aws/s3xml.h"

/* The input stands for an S3 response body; its first byte picks the parser
 * (list, versions, delete, error) and the rest is the document. */
static void check_key(const char *k)
{
    FUZZ_CHECK(k != NULL);
    size_t n = strlen(k);
    FUZZ_CHECK(n >= 1 && n <= JB_S3_KEY_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    const char *xml;
    size_t len;

    if (size < 1)
        return 0;
    xml = (const char *)data + 1;
    len = size - 1;
    err[0] = '\0';
    switch (data[0] % 4) {
    case 0: {
        struct jb_s3_list_page p;
        memset(&p, 0x5a, sizeof(p));
        if (jb_s3xml_parse_list(xml, len, &p, err, sizeof(err)) == 0) {
            FUZZ_CHECK(p.nkeys <= JB_S3XML_MAX_ENTRIES);
            FUZZ_CHECK(!p.truncated || p.next_token != NULL);
            for (size_t i = 0; i < p.nkeys; i++)
                check_key(p.keys[i]);
        } else {
            FUZZ_CHECK(err[0] != '\0');
        }
        jb_s3_list_page_free(&p);
        jb_s3_list_page_free(&p);
        break;
    }
    case 1: {
        struct jb_s3_versions_page p;
        memset(&p, 0x5a, sizeof(p));
        if (jb_s3xml_parse_versions(xml, len, &p, err, sizeof(err)) == 0) {
            FUZZ_CHECK(p.n <= JB_S3XML_MAX_ENTRIES);
            FUZZ_CHECK(!p.truncated || p.next_key_marker != NULL);
            for (size_t i = 0; i < p.n; i++) {
                check_key(p.items[i].key);
                FUZZ_CHECK(p.items[i].version_id != NULL);
            }
        } else {
            FUZZ_CHECK(err[0] != '\0');
        }
        jb_s3_versions_page_free(&p);
        jb_s3_versions_page_free(&p);
        break;
    }
    case 2: {
        struct jb_s3_delete_result r;
        memset(&r, 0x5a, sizeof(r));
        if (jb_s3xml_parse_delete(xml, len, &r, err, sizeof(err)) == 0) {
            FUZZ_CHECK(r.ndeleted <= JB_S3XML_MAX_ENTRIES && r.nerrors <= JB_S3XML_MAX_ENTRIES);
            for (size_t i = 0; i < r.nerrors; i++)
                FUZZ_CHECK(r.errors[i].key != NULL);
        } else {
            FUZZ_CHECK(err[0] != '\0');
        }
        jb_s3_delete_result_free(&r);
        jb_s3_delete_result_free(&r);
        break;
    }
    default: {
        struct jb_s3_error e;
        memset(&e, 'x', sizeof(e));
        if (jb_s3xml_parse_error(xml, len, &e, err, sizeof(err)) == 0) {
            FUZZ_CHECK(memchr(e.code, '\0', sizeof(e.code)) != NULL);
            FUZZ_CHECK(memchr(e.message, '\0', sizeof(e.message)) != NULL);
        } else {
            FUZZ_CHECK(err[0] != '\0');
        }
        break;
    }
    }
    return 0;
}
