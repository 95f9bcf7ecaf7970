/* Environment lookups with the AWS CLI's rule (env.h): empty means unset. */
#include "base/env.h"

#include <stdlib.h>

const char *jb_env(const char *name)
{
    const char *v = getenv(name);

    return (v != NULL && v[0] != '\0') ? v : NULL;
}
