/* libcurl, loaded on first use.  lib/net/curl_dl.c defines the few curl_*
 * functions lib/ calls and forwards them to dlopen("libcurl.so.4"), so the
 * programs link without -lcurl: a process that never makes an HTTPS call
 * (keygen, the Lambda runtime before its first AWS call) never maps libcurl
 * and its TLS, Kerberos and LDAP dependencies. */
#ifndef JB_CURL_DL_H
#define JB_CURL_DL_H

#include <stddef.h>

#ifndef JB_CURL_SONAME /* a test points it at a library that is not there */
#define JB_CURL_SONAME "libcurl.so.4"
#endif

/* Loads libcurl once (thread-safe).  0, or JB_ERR_UNSUPPORTED with
 * "libcurl.so.4 not found: install libcurl4 (…)" in err.  Every forwarded
 * function also loads on demand and fails softly (NULL, CURLE_FAILED_INIT)
 * when it cannot; call this first for the clear message. */
int jb_curl_load(char *err, size_t errlen);

#endif
