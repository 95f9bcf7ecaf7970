/* `cleaner destroy`: one stack destroyed from this machine, its state and
 * lease purged. */
#include "cmd.h"

#include "cmdline.h"
#include "base/err.h"
#include "base/parse.h"
#include "stack/cli.h"
#include "stack/stack.h"

#include <cjson/cJSON.h>
#include <stdio.h>

int cmd_destroy(int argc, char **argv, const struct jb_settings *s)
{
    static const struct jb_cmdline_cmd me = {"cleaner destroy", cmd_usage, 2, 0, NULL};
    struct cmd_opts o;
    struct jb_state st;
    struct jb_stack_ctx ctx;
    char err[JB_ERRLEN];
    cJSON *res;
    int rc, gone = 0;

    if ((rc = cmd_parse(&me, argc, argv, &o)) >= 0)
        return rc;
    if (o.stack_id == NULL)
        return jb_cmdline_bad(&me, "--stack-id", "required");
    if (jb_check_stack_id(o.stack_id, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--stack-id", err);
    if ((rc = cmd_setup(&me, s, &o, &st, &ctx)) >= 0)
        return rc;
    ctx.progress_ctx = (void *)o.stack_id;
    rc = jb_stack_destroy(&ctx, o.stack_id, o.reason, &gone, err, sizeof(err));
    cmd_done(&ctx);
    if (rc != 0) {
        fprintf(stderr, "cleaner destroy: %s: %s\n", o.stack_id, err);
        return 1;
    }
    if (gone)
        fprintf(stderr, "cleaner destroy: %s: already gone, nothing to do\n", o.stack_id);
    res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "stack_id", o.stack_id);
    cJSON_AddStringToObject(res, "result", gone ? "already_gone" : "destroyed");
    cmd_print_json(res);
    return 0;
}
