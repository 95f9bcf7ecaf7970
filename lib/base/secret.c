/* Secrets' memory and wiping, over libsodium. */
#include "base/secret.h"

#include "base/err.h"

#include <sodium.h>

int jb_secret_init(char *err, size_t errlen)
{
    if (sodium_init() < 0)
        return jb_err(err, errlen, JB_ERR_CRYPTO, "libsodium failed to initialise");
    return 0;
}

void *jb_secret_alloc(size_t len)
{
    /* sodium_malloc needs the page size that sodium_init looks up. */
    if (sodium_init() < 0)
        return NULL;
    return sodium_malloc(len);
}

void jb_secret_free(void *p)
{
    if (p != NULL)
        sodium_free(p); /* wipes before release */
}

void jb_secret_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        sodium_memzero(p, len);
}
