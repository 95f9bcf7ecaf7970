/* curl.h's gcc type-checking macros would rename the definitions below. */
#define CURL_DISABLE_TYPECHECK 1

#include "net/curl_dl.h"

#include "base/err.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} fn;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_err[256];

static void load(void)
{
    static const struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"curl_global_init", (void **)&fn.global_init},
        {"curl_easy_init", (void **)&fn.easy_init},
        {"curl_easy_cleanup", (void **)&fn.easy_cleanup},
        {"curl_easy_reset", (void **)&fn.easy_reset},
        {"curl_easy_perform", (void **)&fn.easy_perform},
        {"curl_easy_setopt", (void **)&fn.easy_setopt},
        {"curl_easy_getinfo", (void **)&fn.easy_getinfo},
        {"curl_easy_strerror", (void **)&fn.easy_strerror},
        {"curl_slist_append", (void **)&fn.slist_append},
        {"curl_slist_free_all", (void **)&fn.slist_free_all},
    };
    /* Never unloaded: curl keeps global state for the process's life. */
    void *h = dlopen(JB_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *e;

    if (h == NULL) {
        e = dlerror();
        snprintf(load_err, sizeof(load_err), JB_CURL_SONAME " not found: install libcurl4 (%.150s)",
                 e ? e : "dlopen failed");
        return;
    }
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        /* POSIX: dlsym's void * converts to a function pointer. */
        if ((*syms[i].slot = dlsym(h, syms[i].name)) == NULL) {
            snprintf(load_err, sizeof(load_err), JB_CURL_SONAME ": no symbol %s", syms[i].name);
            return;
        }
    }
    loaded = 1;
}

static int ready(void)
{
    pthread_once(&load_once, load);
    return loaded;
}

int jb_curl_load(char *err, size_t errlen)
{
    if (ready())
        return 0;
    return jb_err(err, errlen, JB_ERR_UNSUPPORTED, "%s", load_err);
}

CURLcode curl_global_init(long flags)
{
    return ready() ? fn.global_init(flags) : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
    return ready() ? fn.easy_init() : NULL;
}

void curl_easy_cleanup(CURL *c)
{
    if (c && ready())
        fn.easy_cleanup(c);
}

void curl_easy_reset(CURL *c)
{
    if (c && ready())
        fn.easy_reset(c);
}

CURLcode curl_easy_perform(CURL *c)
{
    return ready() ? fn.easy_perform(c) : CURLE_FAILED_INIT;
}

/* The variadic argument's type follows from the option's number range. */
CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
    CURLcode rc;
    va_list ap;

    if (!ready())
        return CURLE_FAILED_INIT;
    va_start(ap, opt);
    if (opt < CURLOPTTYPE_OBJECTPOINT) {
        long v = va_arg(ap, long);
        rc = fn.easy_setopt(c, opt, v);
    } else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
        void *p = va_arg(ap, void *);
        rc = fn.easy_setopt(c, opt, p);
    } else if (opt < CURLOPTTYPE_OFF_T) {
        void (*f)(void) = va_arg(ap, void (*)(void));
        rc = fn.easy_setopt(c, opt, f);
    } else if (opt < CURLOPTTYPE_BLOB) {
        curl_off_t v = va_arg(ap, curl_off_t);
        rc = fn.easy_setopt(c, opt, v);
    } else {
        void *p = va_arg(ap, void *); /* struct curl_blob * */
        rc = fn.easy_setopt(c, opt, p);
    }
    va_end(ap);
    return rc;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
    CURLcode rc;
    va_list ap;
    void *p;

    if (!ready())
        return CURLE_FAILED_INIT;
    va_start(ap, info);
    p = va_arg(ap, void *);
    rc = fn.easy_getinfo(c, info, p);
    va_end(ap);
    return rc;
}

const char *curl_easy_strerror(CURLcode cc)
{
    return ready() ? fn.easy_strerror(cc) : load_err;
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
    return ready() ? fn.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
    if (l && ready())
        fn.slist_free_all(l);
}
