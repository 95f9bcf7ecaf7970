/* Test driver for lib/aws/sfn: one task callback, credentials, region and
 * endpoint from the environment (AWS_ENDPOINT_URL_SFN / AWS_ENDPOINT_URL).
 *
 *   sfn_call [--no-sleep] success TOKEN OUTPUT
 *   sfn_call [--no-sleep] failure TOKEN [--error E] [--cause C]
 *   sfn_call [--no-sleep] heartbeat TOKEN
 *
 * A value "@FILE" is read from FILE (big causes and outputs, bytes that
 * argv cannot carry).  Prints {"result": "ok" or the error's name, "error",
 * "sleeps_ms"} on stdout; exit 0, 2 for invalid input, 1 otherwise.
 * --no-sleep records the backoff delays instead of sleeping them. */
#include "base/err.h"
#include "aws/sfn.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sleeps {
    long ms[64];
    int n;
};

static void fake_sleep(void *ctx, long ms)
{
    struct sleeps *s = ctx;
    if (s->n < 64)
        s->ms[s->n++] = ms;
}

/* arg itself, or the contents of FILE for "@FILE" (malloc'd into *owned). */
static const char *value(const char *arg, char **owned)
{
    FILE *f;
    long n;

    if (arg == NULL || arg[0] != '@')
        return arg;
    if ((f = fopen(arg + 1, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (*owned = calloc(1, (size_t)n + 1)) == NULL ||
        fread(*owned, 1, (size_t)n, f) != (size_t)n) {
        perror(arg + 1);
        exit(2);
    }
    fclose(f);
    return *owned;
}

int main(int argc, char **argv)
{
    struct sleeps sl = {{0}, 0};
    struct jb_http_options opts = {0};
    struct jb_sfn_config cfg = {0};
    char err[JB_ERRLEN] = "", *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *s;
    const char *error = NULL, *cause = NULL;
    cJSON *o, *a;
    int i = 1, rc;

    if (i < argc && strcmp(argv[i], "--no-sleep") == 0) {
        opts.sleep_ms = fake_sleep;
        opts.ctx = &sl;
        cfg.http = &opts;
        i++;
    }
    if (argc - i < 2)
        goto usage;
    const char *action = argv[i], *token = value(argv[i + 1], &o1);
    if (strcmp(action, "success") == 0 && argc - i == 3) {
        rc = jb_sfn_send_success(&cfg, token, value(argv[i + 2], &o2), err, sizeof(err));
    } else if (strcmp(action, "heartbeat") == 0 && argc - i == 2) {
        rc = jb_sfn_send_heartbeat(&cfg, token, err, sizeof(err));
    } else if (strcmp(action, "failure") == 0) {
        for (i += 2; i + 1 < argc; i += 2) {
            if (strcmp(argv[i], "--error") == 0)
                error = value(argv[i + 1], &o3);
            else if (strcmp(argv[i], "--cause") == 0)
                cause = value(argv[i + 1], &o4);
            else
                goto usage;
        }
        if (i != argc)
            goto usage;
        rc = jb_sfn_send_failure(&cfg, token, error, cause, err, sizeof(err));
    } else {
        goto usage;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "result", rc ? jb_err_name(rc) : "ok");
    cJSON_AddStringToObject(o, "error", rc ? err : "");
    a = cJSON_AddArrayToObject(o, "sleeps_ms");
    for (int k = 0; k < sl.n; k++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)sl.ms[k]));
    s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
    if (rc)
        fprintf(stderr, "sfn_call: %s: %s\n", jb_err_name(rc), err);
    free(o1), free(o2), free(o3), free(o4);
    return rc == 0 ? 0 : rc == JB_ERR_INVALID ? 2 : 1;
usage:
    fprintf(stderr, "usage: sfn_call [--no-sleep] success TOKEN OUTPUT | failure TOKEN "
                    "[--error E] [--cause C] | heartbeat TOKEN\n");
    free(o1), free(o2), free(o3), free(o4);
    return 2;
}
