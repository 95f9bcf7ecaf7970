/* provisioner list: the leases of a state location as one JSON array. */
#include "cmd.h"

#include "cmdline.h"
#include "base/err.h"
#include "stack/cli.h"
#include "stack/lease.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] = "usage: provisioner list [--state URL]\n"
                            "\n"
                            "Prints a JSON array of the leases in the state location, oldest\n"
                            "first, each with \"expired\": true once its time has passed.\n";

static int by_created(const void *a, const void *b)
{
    const struct jb_lease *x = a, *y = b;
    return x->created_at < y->created_at ? -1 : x->created_at > y->created_at;
}

int cmd_list(int argc, char **argv, const struct jb_settings *s)
{
    static const struct jb_cmdline_cmd me = {"provisioner list", usage, 2, 0, NULL};
    static const struct option opts[] = {{"state", required_argument, NULL, 'S'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *state_url = NULL;
    char err[JB_ERRLEN], *json = NULL;
    struct jb_state st;
    struct jb_lease *ls = NULL;
    size_t n = 0, bad = 0;
    cJSON *arr = NULL;
    int c, status = 1;

    while ((c = jb_cmdline_opt(&me, argc, argv, opts, &status)) != 0) {
        switch (c) {
        case 'S':
            state_url = optarg;
            break;
        }
    }
    if (status >= 0)
        return status;
    status = 1;
    if ((c = jb_cmdline_state_for(&me, s, state_url, &st)) >= 0)
        return c;
    if (jb_lease_list(&st, &ls, &n, &bad, err, sizeof(err)) != 0) {
        fprintf(stderr, "provisioner list: %s\n", err);
        return 1;
    }
    if (n > 1)
        qsort(ls, n, sizeof(*ls), by_created);
    if ((arr = cJSON_CreateArray()) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, jb_lease_summary(&ls[i], time(NULL)));
    if ((json = cJSON_Print(arr)) == NULL)
        goto out;
    puts(json);
    if (bad)
        fprintf(stderr, "provisioner list: %zu unreadable lease(s) skipped\n", bad);
    status = 0;
out:
    free(json);
    cJSON_Delete(arr);
    jb_lease_list_free(ls, n);
    return status;
}
