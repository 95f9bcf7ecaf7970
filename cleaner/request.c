/* `cleaner request`: the backup VM asks the clean function to destroy its
 * stack, proving it may with the teardown token it was given. */
#include "cmd.h"

#include "cmdline.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/parse.h"
#include "crypto/keys.h"
#include "aws/lambda_invoke.h"
#include "stack/cleanfn.h"
#include "stack/cli.h"
#include "stack/stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: cleaner request --function NAME --stack-id ID (--token-file F | --out DIR)\n"
    "\n"
    "Asks the clean Lambda function to destroy stack ID; the teardown token comes\n"
    "from F, or from DIR/teardown_token as `provisioner request --out DIR` wrote\n"
    "it.  With --out, the key and token files in DIR are wiped once the stack is\n"
    "gone.  Prints the function's JSON answer.\n"
    "Exit status: 0 destroyed or already gone, 1 failed, 2 bad input or refused.\n";

static const struct jb_cmdline_cmd me = {"cleaner request", usage, 2, JB_CMDLINE_SEE_HELP, NULL};

int cmd_request(int argc, char **argv, const struct jb_settings *s)
{
    static const struct option opts[] = {{"function", required_argument, NULL, 'f'},
                                         {"stack-id", required_argument, NULL, 's'},
                                         {"token-file", required_argument, NULL, 't'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *function = NULL, *stack_id = NULL, *token_file = NULL, *outdir = NULL;
    char err[JB_ERRLEN], tpath[PATH_MAX], kpath[PATH_MAX], *token = NULL, *answer = NULL;
    int c, refused = 0, status = 1;

    (void)s; /* reads no setting */
    while ((c = jb_cmdline_opt(&me, argc, argv, opts, &status)) != 0) {
        switch (c) {
        case 'f':
            function = optarg;
            break;
        case 's':
            stack_id = optarg;
            break;
        case 't':
            token_file = optarg;
            break;
        case 'o':
            outdir = optarg;
            break;
        }
    }
    if (status >= 0)
        return status;
    status = 1;
    if (function == NULL)
        return jb_cmdline_bad(&me, "--function", "required (the clean function's name or ARN)");
    if (jb_lambda_check_name(function, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--function", err);
    if (stack_id == NULL)
        return jb_cmdline_bad(&me, "--stack-id", "required");
    if (jb_check_stack_id(stack_id, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, "--stack-id", err);
    if ((token_file == NULL) == (outdir == NULL))
        return jb_cmdline_bad(&me, "--token-file", "give either --token-file or --out");
    if (outdir) {
        if (jb_path_join(tpath, sizeof(tpath), outdir, "teardown_token") != 0 ||
            jb_path_join(kpath, sizeof(kpath), outdir, "id_ed25519") != 0)
            return jb_cmdline_bad(&me, "--out", "path too long");
        token_file = tpath;
    }
    if (jb_cleanfn_read_token(token_file, &token, err, sizeof(err)) != 0)
        return jb_cmdline_bad(&me, outdir ? "--out" : "--token-file", err);

    fprintf(stderr, "cleaner request: invoking %s for %s\n", function, stack_id);
    if (jb_cleanfn_destroy(function, stack_id, token, &answer, &refused, err, sizeof(err)) != 0) {
        fprintf(stderr, "cleaner request: %s\n", err);
        if (refused)
            status = 2;
        goto out;
    }
    puts(answer);
    fflush(stdout);
    if (outdir) {
        /* The box is gone: its key and token open nothing any more. */
        jb_file_wipe(kpath, NULL, 0);
        jb_file_wipe(tpath, NULL, 0);
    }
    status = 0;
out:
    free(answer);
    jb_secret_free(token);
    return status;
}
