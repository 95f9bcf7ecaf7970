/* bench/image_bench.py's floor: the least a custom runtime can do between
 * its exec and its first `GET .../invocation/next`.  Static (no loader, no
 * libraries), it connects to AWS_LAMBDA_RUNTIME_API, sends the request and
 * waits for the answer the stand-in never gives.  Timed in the same sandbox
 * and run as the entry point, it shows what exec, the sandbox and the
 * stand-in's own latency cost before any of our code runs. */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    char host[64], req[256], buf[512];
    const char *colon;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd, n;

    if (api == NULL || (colon = strchr(api, ':')) == NULL || (size_t)(colon - api) >= sizeof(host))
        return 2;
    memcpy(host, api, (size_t)(colon - api));
    host[colon - api] = '\0';
    sa.sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return 2;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return 1;
    n = snprintf(req, sizeof(req),
                 "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
    if (write(fd, req, (size_t)n) != n)
        return 1;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    return 0;
}
