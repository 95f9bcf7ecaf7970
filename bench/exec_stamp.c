/* bench/image_bench.py's exec timestamp: prints CLOCK_MONOTONIC (ns) on
 * stderr as "exec-stamp N", then execs argv[1..].  Linked statically and
 * bound into the sandbox, so the cold start is timed from the exec of the
 * entry point, not from the sandbox's own set-up. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec ts;

    if (argc < 2)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    fprintf(stderr, "exec-stamp %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    execv(argv[1], argv + 1);
    perror("exec-stamp: execv");
    return 127;
}
