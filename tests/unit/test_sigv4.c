#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto/keys.h"
#include "aws/sigv4.h"

#include <stdlib.h>
#include <string.h>

/* AWS's SigV4 test suite credentials and time (20150830T123600Z). */
static struct jb_aws_creds creds(const char *token)
{
    struct jb_aws_creds c = {0};

    assert_int_equal(jb_keys_init(NULL, 0), 0);
    strcpy(c.access_key_id, "AKIDEXAMPLE");
    c.secret_access_key = jb_secret_alloc(64);
    strcpy(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    if (token) {
        c.session_token = jb_secret_alloc(strlen(token) + 1);
        strcpy(c.session_token, token);
    }
    return c;
}

static struct jb_sigv4_request vanilla(void)
{
    struct jb_sigv4_request r = {0};
    r.method = "GET";
    r.host = "example.amazonaws.com";
    r.path = "/";
    r.service = "service";
    r.region = "us-east-1";
    r.when = 1440938160;
    return r;
}

static void test_aws_suite_get_vanilla(void **state)
{
    struct jb_aws_creds c = creds(NULL);
    struct jb_sigv4_request r = vanilla();
    struct jb_sigv4_result out;
    (void)state;

    assert_int_equal(jb_sigv4_sign(&r, &c, &out, NULL, 0), 0);
    assert_string_equal(out.amz_date, "20150830T123600Z");
    assert_string_equal(
        out.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
        "aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    assert_int_equal(out.send_content_sha256, 0);
    jb_aws_creds_clear(&c);
}

static void test_aws_suite_query_order(void **state)
{
    struct jb_aws_creds c = creds(NULL);
    struct jb_sigv4_request r = vanilla();
    struct jb_kv q[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    struct jb_sigv4_result out;
    char *cr = NULL;
    (void)state;

    r.query = q;
    r.nquery = 2;
    assert_int_equal(jb_sigv4_sign(&r, &c, &out, NULL, 0), 0);
    assert_string_equal(out.signature,
                        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    assert_int_equal(jb_sigv4_canonical(&r, &c, &cr, NULL, NULL, 0), 0);
    assert_non_null(strstr(cr, "\nParam1=value1&Param2=value2\n"));
    free(cr);
    jb_aws_creds_clear(&c);
}

static void test_canonical_rules(void **state)
{
    struct jb_aws_creds c = creds("tok+en/=");
    struct jb_sigv4_request r = vanilla();
    struct jb_kv q[] = {{"k", "b"}, {"k", "a"}, {"e", NULL}, {"a b", "c+d/é"}};
    struct jb_kv h[] = {
        {"X-Multi", "  one   two\t three "}, {"x-multi", "second"}, {"User-Agent", "not signed"}};
    char *cr = NULL;
    (void)state;

    r.path = "/a b/./c//d/../%e~";
    r.query = q;
    r.nquery = 4;
    r.headers = h;
    r.nheaders = 3;
    assert_int_equal(jb_sigv4_canonical(&r, &c, &cr, NULL, NULL, 0), 0);
    /* Double-encoded, dot segments and empty segments removed (not s3). */
    assert_non_null(strstr(cr, "GET\n/a%2520b/c/%2525e~\n"));
    assert_non_null(strstr(cr, "\na%20b=c%2Bd%2F%C3%A9&e=&k=a&k=b\n"));
    assert_non_null(strstr(cr, "x-multi:one two three,second\n"));
    assert_null(strstr(cr, "user-agent"));
    assert_non_null(strstr(cr, "\nhost;x-amz-date;x-amz-security-token;x-multi\n"));
    free(cr);

    /* s3: encoded once, path kept as is, content hash header signed. */
    r.service = "s3";
    r.nheaders = 0;
    assert_int_equal(jb_sigv4_canonical(&r, &c, &cr, NULL, NULL, 0), 0);
    assert_non_null(strstr(cr, "GET\n/a%20b/./c//d/../%25e~\n"));
    assert_non_null(strstr(cr, "\nhost;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"));
    assert_non_null(
        strstr(cr, "\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    free(cr);
    jb_aws_creds_clear(&c);
}

static void test_uri_encode_and_wire_path(void **state)
{
    char *o = NULL;
    (void)state;

    assert_int_equal(jb_uri_encode("a-_.~/ +=%", 10, 0, &o), 0);
    assert_string_equal(o, "a-_.~%2F%20%2B%3D%25");
    free(o);
    assert_int_equal(jb_uri_encode("a/b", 3, 1, &o), 0);
    assert_string_equal(o, "a/b");
    free(o);
    assert_int_equal(jb_sigv4_wire_path("lambda", "/../..//", &o), 0);
    assert_string_equal(o, "/");
    free(o);
    assert_int_equal(jb_sigv4_wire_path("s3", "", &o), 0);
    assert_string_equal(o, "/");
    free(o);
}

static void test_rejects_bad_input(void **state)
{
    struct jb_aws_creds c = creds(NULL);
    struct jb_sigv4_request r = vanilla();
    struct jb_sigv4_result out;
    struct jb_kv h[] = {{"X-Amz-Date", "x"}};
    char err[256];
    (void)state;

    r.headers = h;
    r.nheaders = 1;
    assert_int_equal(jb_sigv4_sign(&r, &c, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "x-amz-date"));
    r.nheaders = 0;
    r.payload_hash = "ABC";
    assert_int_equal(jb_sigv4_sign(&r, &c, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "payload_hash"));
    r.payload_hash = NULL;
    jb_secret_free(c.secret_access_key);
    c.secret_access_key = NULL;
    assert_int_equal(jb_sigv4_sign(&r, &c, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "credentials"));
    jb_aws_creds_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_suite_get_vanilla),
        cmocka_unit_test(test_aws_suite_query_order),
        cmocka_unit_test(test_canonical_rules),
        cmocka_unit_test(test_uri_encode_and_wire_path),
        cmocka_unit_test(test_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
