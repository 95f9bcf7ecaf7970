/* lib/net/curl_dl.c when libcurl cannot be loaded: the shim is built in here
 * under a soname that does not exist, so every curl_* that lib/ calls
 * resolves to this copy, and each must fail softly, with the clear message
 * on the normal error path.  (The real libcurl.so.4 path is what every
 * integration test talking to S3, Lambda or STS goes through.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define JB_CURL_SONAME "libjb-test-no-such-curl.so.4"
#include "../../lib/net/curl_dl.c"

#include "base/err.h"
#include "net/http.h"

#include <string.h>

static void test_load_fails_with_a_clear_error(void **state)
{
    char err[JB_ERRLEN] = "";
    (void)state;

    assert_int_equal(jb_curl_load(err, sizeof(err)), JB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "libjb-test-no-such-curl.so.4 not found: install libcurl4"));
}

static void test_forwarders_fail_softly(void **state)
{
    CURL *c = curl_easy_init();
    long status = 0;
    (void)state;

    assert_null(c);
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_FAILED_INIT);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_FAILED_INIT);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5L), CURLE_FAILED_INIT);
    assert_int_equal(curl_easy_perform(c), CURLE_FAILED_INIT);
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), CURLE_FAILED_INIT);
    assert_null(curl_slist_append(NULL, "A: b"));
    assert_non_null(strstr(curl_easy_strerror(CURLE_OK), "install libcurl4"));
    curl_slist_free_all(NULL);
    curl_easy_reset(c);
    curl_easy_cleanup(c);
}

static void test_http_reports_it(void **state)
{
    struct jb_http_request req = {.method = "GET", .url = "http://127.0.0.1:1/"};
    struct jb_http_response resp;
    char err[JB_ERRLEN] = "";
    (void)state;

    assert_int_equal(jb_http_init(err, sizeof(err)), JB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "install libcurl4"));
    err[0] = '\0';
    assert_int_equal(jb_http_do(&req, NULL, &resp, err, sizeof(err)), JB_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "not found: install libcurl4"));
    jb_http_response_free(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_fails_with_a_clear_error),
        cmocka_unit_test(test_forwarders_fail_softly),
        cmocka_unit_test(test_http_reports_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
