/* The two clocks of clock.h, read one way everywhere. */
#include "base/clock.h"

#include <time.h>

static long long ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long jb_clock_mono_ms(void)
{
    return ms(CLOCK_MONOTONIC);
}

long long jb_clock_unix_ms(void)
{
    return ms(CLOCK_REALTIME);
}
