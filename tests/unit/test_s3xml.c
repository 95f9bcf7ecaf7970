#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "aws/s3xml.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static const char LIST_PAGE[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult" NS "><Name>b</Name><Prefix>stack-1/</Prefix><KeyCount>2</KeyCount>"
    "<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
    "<Contents><Key>stack-1/a&amp;b</Key><Size>3</Size></Contents>"
    "<Contents><Key>stack-1/lease.json</Key></Contents>"
    "<NextContinuationToken>tok/1+==</NextContinuationToken></ListBucketResult>";

static void test_list_page(void **state)
{
    struct jb_s3_list_page p;
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_s3xml_parse_list(LIST_PAGE, strlen(LIST_PAGE), &p, err, sizeof(err)), 0);
    assert_int_equal(p.nkeys, 2);
    assert_string_equal(p.keys[0], "stack-1/a&b");
    assert_string_equal(p.keys[1], "stack-1/lease.json");
    assert_true(p.truncated);
    assert_string_equal(p.next_token, "tok/1+==");
    jb_s3_list_page_free(&p);
    jb_s3_list_page_free(&p); /* twice is harmless */
}

static void test_list_url_encoded_keys(void **state)
{
    const char *xml = "<ListBucketResult><EncodingType>url</EncodingType>"
                      "<Contents><Key>a+b%2Fc%0A%C3%A9</Key></Contents>"
                      "<CommonPrefixes><Prefix>x/</Prefix></CommonPrefixes>"
                      "<IsTruncated>false</IsTruncated></ListBucketResult>";
    struct jb_s3_list_page p;
    (void)state;
    assert_int_equal(jb_s3xml_parse_list(xml, strlen(xml), &p, NULL, 0), 0);
    assert_int_equal(p.nkeys, 1);
    assert_string_equal(p.keys[0], "a b/c\n\xc3\xa9");
    assert_false(p.truncated);
    assert_null(p.next_token);
    jb_s3_list_page_free(&p);

    const char *nul = "<ListBucketResult><EncodingType>url</EncodingType>"
                      "<Contents><Key>a%00b</Key></Contents></ListBucketResult>";
    char err[JB_ERRLEN];
    assert_int_equal(jb_s3xml_parse_list(nul, strlen(nul), &p, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "NUL"));
}

static void test_list_refuses_bad_documents(void **state)
{
    static const struct {
        const char *xml;
        const char *why;
    } bad[] = {
        {"", "no element found"},
        {"<ListBucketResult><Contents><Key>a</Key>", "no element found"},
        {"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult", "unclosed"},
        {"<ListBucketResult><Contents><Key>a</Contents></ListBucketResult>", "mismatched"},
        {"not xml at all", "syntax error"},
        {"<ListVersionsResult/>", "expected <ListBucketResult>, got <ListVersionsResult>"},
        {"<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
         "not true or false"},
        {"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
         "without NextContinuationToken"},
        {"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
         "<Contents> without <Key>"},
        {"<ListBucketResult><Contents><Key></Key></Contents></ListBucketResult>", "empty <Key>"},
        {"<ListBucketResult><Contents><Key>a</Key><Key>b</Key></Contents></ListBucketResult>",
         "given twice"},
        {"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult/>", "document type declaration"},
        {"<ListBucketResult><Contents><Key>&foo;</Key></Contents></ListBucketResult>",
         "undefined entity"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct jb_s3_list_page p;
        char err[JB_ERRLEN] = "";
        int rc = jb_s3xml_parse_list(bad[i].xml, strlen(bad[i].xml), &p, err, sizeof(err));
        if (rc != JB_ERR_PARSE || strstr(err, bad[i].why) == NULL)
            fail_msg("case %zu: rc %d, err \"%s\", wanted \"%s\"", i, rc, err, bad[i].why);
        assert_null(p.keys);
        assert_int_equal(p.nkeys, 0);
    }
    struct jb_s3_list_page p;
    assert_int_equal(jb_s3xml_parse_list(NULL, 0, &p, NULL, 0), JB_ERR_PARSE);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t len = strlen(head) + strlen(unit) * n + strlen(tail) + 1;
    char *s = malloc(len);
    assert_non_null(s);
    strcpy(s, head);
    char *p = s + strlen(head);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, unit, strlen(unit));
        p += strlen(unit);
    }
    strcpy(p, tail);
    return s;
}

static void test_limits(void **state)
{
    struct jb_s3_list_page p;
    char err[JB_ERRLEN];
    (void)state;

    /* Element text over the limit. */
    char *xml = repeat("<ListBucketResult><Contents><Key>", "k", JB_S3XML_MAX_TEXT + 1,
                       "</Key></Contents></ListBucketResult>");
    assert_int_equal(jb_s3xml_parse_list(xml, strlen(xml), &p, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "longer than"));
    free(xml);

    /* A key within the text limit but over S3's key limit. */
    xml = repeat("<ListBucketResult><Contents><Key>", "k", JB_S3_KEY_MAX + 1,
                 "</Key></Contents></ListBucketResult>");
    assert_int_equal(jb_s3xml_parse_list(xml, strlen(xml), &p, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "key longer"));
    free(xml);

    /* Too many entries. */
    xml = repeat("<ListBucketResult>", "<Contents><Key>k</Key></Contents>",
                 JB_S3XML_MAX_ENTRIES + 1, "</ListBucketResult>");
    assert_int_equal(jb_s3xml_parse_list(xml, strlen(xml), &p, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "entries"));
    free(xml);

    /* Deep nesting. */
    xml = repeat("<ListBucketResult>", "<a>", 40, "</ListBucketResult>");
    assert_int_equal(jb_s3xml_parse_list(xml, strlen(xml), &p, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "nested"));
    free(xml);

    /* The document size is checked before parsing. */
    assert_int_equal(jb_s3xml_parse_list("<x/>", JB_S3XML_MAX_DOC + 1, &p, err, sizeof(err)),
                     JB_ERR_PARSE);
    assert_non_null(strstr(err, "bytes"));
}

static void test_error_root_in_a_success_response(void **state)
{
    const char *xml = "<?xml version=\"1.0\"?><Error><Code>InternalError</Code>"
                      "<Message>We encountered an internal error.</Message></Error>";
    struct jb_s3_list_page p;
    struct jb_s3_delete_result d;
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_s3xml_parse_list(xml, strlen(xml), &p, err, sizeof(err)), JB_ERR_AWS);
    assert_string_equal(err, "S3: InternalError: We encountered an internal error.");
    assert_int_equal(jb_s3xml_parse_delete(xml, strlen(xml), &d, err, sizeof(err)), JB_ERR_AWS);
}

static void test_versions_page(void **state)
{
    const char *xml =
        "<ListVersionsResult" NS "><Name>b</Name><Prefix>s/</Prefix>"
        "<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>"
        "<NextKeyMarker>s/b</NextKeyMarker><NextVersionIdMarker>v3</NextVersionIdMarker>"
        "<IsTruncated>true</IsTruncated>"
        "<Version><Key>s/a</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest></Version>"
        "<DeleteMarker><Owner><ID>x</ID></Owner><Key>s/b</Key><VersionId>v2</VersionId>"
        "<IsLatest>true</IsLatest></DeleteMarker>"
        "<Version><Key>s/b</Key><VersionId>v3</VersionId><IsLatest>false</IsLatest></Version>"
        "</ListVersionsResult>";
    struct jb_s3_versions_page p;
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_s3xml_parse_versions(xml, strlen(xml), &p, err, sizeof(err)), 0);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.items[0].key, "s/a");
    assert_string_equal(p.items[0].version_id, "v1");
    assert_false(p.items[0].delete_marker);
    assert_true(p.items[0].is_latest);
    assert_string_equal(p.items[1].key, "s/b");
    assert_string_equal(p.items[1].version_id, "v2");
    assert_true(p.items[1].delete_marker);
    assert_false(p.items[2].delete_marker);
    assert_false(p.items[2].is_latest);
    assert_true(p.truncated);
    assert_string_equal(p.next_key_marker, "s/b");
    assert_string_equal(p.next_version_id_marker, "v3");
    jb_s3_versions_page_free(&p);

    const char *missing = "<ListVersionsResult><Version><Key>k</Key></Version>"
                          "</ListVersionsResult>";
    assert_int_equal(jb_s3xml_parse_versions(missing, strlen(missing), &p, err, sizeof(err)),
                     JB_ERR_PARSE);
    assert_string_equal(err, "S3 response XML: <Version> without <VersionId>");
    const char *loop = "<ListVersionsResult><IsTruncated>true</IsTruncated>"
                       "</ListVersionsResult>";
    assert_int_equal(jb_s3xml_parse_versions(loop, strlen(loop), &p, err, sizeof(err)),
                     JB_ERR_PARSE);
    assert_non_null(strstr(err, "NextKeyMarker"));
}

static void test_delete_result(void **state)
{
    const char *xml = "<DeleteResult" NS ">"
                      "<Deleted><Key>s/a</Key></Deleted>"
                      "<Deleted><Key>s/b</Key><VersionId>v1</VersionId>"
                      "<DeleteMarker>true</DeleteMarker></Deleted>"
                      "<Error><Key>s/c</Key><VersionId>v9</VersionId><Code>AccessDenied</Code>"
                      "<Message>Access Denied</Message></Error>"
                      "<Error><Key>s/d</Key><Code>InternalError</Code><Message/></Error>"
                      "</DeleteResult>";
    struct jb_s3_delete_result r;
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_s3xml_parse_delete(xml, strlen(xml), &r, err, sizeof(err)), 0);
    assert_int_equal(r.ndeleted, 2);
    assert_int_equal(r.nerrors, 2);
    assert_string_equal(r.errors[0].key, "s/c");
    assert_string_equal(r.errors[0].version_id, "v9");
    assert_string_equal(r.errors[0].code, "AccessDenied");
    assert_string_equal(r.errors[0].message, "Access Denied");
    assert_string_equal(r.errors[1].key, "s/d");
    assert_null(r.errors[1].version_id);
    assert_null(r.errors[1].message);
    jb_s3_delete_result_free(&r);

    const char *nocode = "<DeleteResult><Error><Key>k</Key></Error></DeleteResult>";
    assert_int_equal(jb_s3xml_parse_delete(nocode, strlen(nocode), &r, err, sizeof(err)),
                     JB_ERR_PARSE);
    assert_non_null(strstr(err, "without <Code>"));
    const char *cut = "<DeleteResult><Deleted><Key>k</Key></Deleted>";
    assert_int_equal(jb_s3xml_parse_delete(cut, strlen(cut), &r, err, sizeof(err)), JB_ERR_PARSE);
}

static void test_error_document(void **state)
{
    const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code>"
                      "<Message>The specified bucket does not exist</Message>"
                      "<BucketName>nope</BucketName><RequestId>1</RequestId></Error>";
    struct jb_s3_error e;
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_s3xml_parse_error(xml, strlen(xml), &e, err, sizeof(err)), 0);
    assert_string_equal(e.code, "NoSuchBucket");
    assert_string_equal(e.message, "The specified bucket does not exist");

    /* Over-long text is cut, not refused. */
    char *longmsg = repeat("<Error><Code>C</Code><Message>", "m", 10000, "</Message></Error>");
    assert_int_equal(jb_s3xml_parse_error(longmsg, strlen(longmsg), &e, err, sizeof(err)), 0);
    assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
    free(longmsg);

    assert_int_equal(jb_s3xml_parse_error("<html>", 6, &e, err, sizeof(err)), JB_ERR_PARSE);
    assert_int_equal(jb_s3xml_parse_error("<Other/>", 8, &e, err, sizeof(err)), JB_ERR_PARSE);
}

/* Collects the <Key> texts of a request body with expat itself. */
struct keys_back {
    char keys[8][128];
    int n;
    int in_key;
};

static void XMLCALL kb_start(void *ud, const XML_Char *name, const XML_Char **a)
{
    struct keys_back *k = ud;
    (void)a;
    if (strcmp(name, "Key") == 0) {
        k->in_key = 1;
        k->keys[k->n][0] = '\0';
    }
}

static void XMLCALL kb_end(void *ud, const XML_Char *name)
{
    struct keys_back *k = ud;
    if (strcmp(name, "Key") == 0) {
        k->in_key = 0;
        k->n++;
    }
}

static void XMLCALL kb_text(void *ud, const XML_Char *s, int len)
{
    struct keys_back *k = ud;
    if (k->in_key)
        strncat(k->keys[k->n], s, (size_t)len);
}

static void test_build_delete_round_trips_keys(void **state)
{
    const struct jb_s3_object_id objs[] = {
        {"s/plain", NULL},
        {"s/<&>\"'", "v1"},
        {"s/line\r\nbreak\ttab", NULL},
        {"s/\xc3\xa9t\xc3\xa9", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"},
    };
    char *body = NULL;
    size_t len = 0;
    char md5[JB_S3_MD5_B64_LEN];
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(jb_s3xml_build_delete(objs, 4, 1, &body, &len, md5, err, sizeof(err)), 0);
    assert_int_equal(strlen(body), len);
    assert_non_null(strstr(body, "<Quiet>true</Quiet>"));
    assert_non_null(strstr(body, "<VersionId>v1</VersionId>"));
    assert_int_equal(strlen(md5), 24);

    struct keys_back kb = {0};
    XML_Parser p = XML_ParserCreate("UTF-8");
    XML_SetUserData(p, &kb);
    XML_SetElementHandler(p, kb_start, kb_end);
    XML_SetCharacterDataHandler(p, kb_text);
    assert_int_equal(XML_Parse(p, body, (int)len, 1), XML_STATUS_OK);
    XML_ParserFree(p);
    assert_int_equal(kb.n, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(kb.keys[i], objs[i].key);
    free(body);
}

static void test_build_delete_md5(void **state)
{
    /* `printf '%s' "$body" | openssl md5 -binary | base64` for this body. */
    const struct jb_s3_object_id one = {"a", NULL};
    char *body = NULL;
    size_t len = 0;
    char md5[JB_S3_MD5_B64_LEN];
    (void)state;
    assert_int_equal(jb_s3xml_build_delete(&one, 1, 0, &body, &len, md5, NULL, 0), 0);
    assert_string_equal(body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                              "<Object><Key>a</Key></Object></Delete>");
    assert_string_equal(md5, "YoRBcm8N6cyE4DdxYPZANA==");
    free(body);
}

static void test_build_delete_refuses(void **state)
{
    char *body = (char *)1;
    size_t len = 1;
    char md5[JB_S3_MD5_B64_LEN];
    char err[JB_ERRLEN];
    struct jb_s3_object_id o[1];
    (void)state;

    o[0] = (struct jb_s3_object_id){"a\x01", NULL};
    assert_int_equal(jb_s3xml_build_delete(o, 1, 0, &body, &len, md5, err, sizeof(err)),
                     JB_ERR_INVALID);
    assert_non_null(strstr(err, "control character 0x01"));
    assert_null(body);
    o[0] = (struct jb_s3_object_id){"a\xc0\xaf", NULL}; /* overlong '/' */
    assert_int_equal(jb_s3xml_build_delete(o, 1, 0, &body, &len, md5, err, sizeof(err)),
                     JB_ERR_INVALID);
    assert_non_null(strstr(err, "UTF-8"));
    o[0] = (struct jb_s3_object_id){"a\xed\xa0\x80", NULL}; /* surrogate */
    assert_int_equal(jb_s3xml_build_delete(o, 1, 0, &body, &len, md5, err, sizeof(err)),
                     JB_ERR_INVALID);
    o[0] = (struct jb_s3_object_id){"", NULL};
    assert_int_equal(jb_s3xml_build_delete(o, 1, 0, &body, &len, md5, err, sizeof(err)),
                     JB_ERR_INVALID);
    o[0] = (struct jb_s3_object_id){"a", ""};
    assert_int_equal(jb_s3xml_build_delete(o, 1, 0, &body, &len, md5, err, sizeof(err)),
                     JB_ERR_INVALID);
    assert_int_equal(jb_s3xml_build_delete(o, 0, 0, &body, &len, md5, err, sizeof(err)),
                     JB_ERR_INVALID);
    assert_int_equal(
        jb_s3xml_build_delete(o, JB_S3_DELETE_BATCH + 1, 0, &body, &len, md5, err, sizeof(err)),
        JB_ERR_INVALID);
    assert_non_null(strstr(err, "must be 1 to 1000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_page),
        cmocka_unit_test(test_list_url_encoded_keys),
        cmocka_unit_test(test_list_refuses_bad_documents),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_error_root_in_a_success_response),
        cmocka_unit_test(test_versions_page),
        cmocka_unit_test(test_delete_result),
        cmocka_unit_test(test_error_document),
        cmocka_unit_test(test_build_delete_round_trips_keys),
        cmocka_unit_test(test_build_delete_md5),
        cmocka_unit_test(test_build_delete_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
