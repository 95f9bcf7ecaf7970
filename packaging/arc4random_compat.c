/* Linked into the Lambda build only (packaging/lambda.sh), together with a
 * static libexpat.  Debian 12's expat takes its hash salt from
 * arc4random_buf, which glibc only has since 2.36; Amazon Linux 2023 has
 * 2.34, where the shared libexpat would not even load.  Defined here, the
 * static expat binds to this one and the binary keeps to GLIBC_2.34.
 * getrandom(2) (glibc 2.25) blocks only until the kernel pool is seeded. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/random.h>

void arc4random_buf(void *buf, size_t n);

void arc4random_buf(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            abort(); /* as glibc's own: no silent weak salt */
        }
        p += got;
        n -= (size_t)got;
    }
}
