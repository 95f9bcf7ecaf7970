/* `cleaner request`: the backup VM asks the clean function to destroy its
 * stack, proving it may with the teardown token it was given. */
#include "cmd.h"

#include "stack/cleanfn.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "crypto/keys.h"
#include "aws/lambda_invoke.h"
#include "base/parse.h"
#include "stack/stack.h"

#include <getopt.h>
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

static int bad(const char *field, const char *detail)
{
    fprintf(stderr, "cleaner request: %s: %s\n", field, detail);
    return 2;
}

int cmd_request(int argc, char **argv)
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

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
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
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return bad(argv[optind - 1], "unknown option, or its value is missing (see --help)");
        }
    }
    if (optind < argc)
        return bad(argv[optind], "unexpected argument");
    if (function == NULL)
        return bad("--function", "required (the clean function's name or ARN)");
    if (jb_lambda_check_name(function, err, sizeof(err)) != 0)
        return bad("--function", err);
    if (stack_id == NULL)
        return bad("--stack-id", "required");
    if (jb_check_stack_id(stack_id, err, sizeof(err)) != 0)
        return bad("--stack-id", err);
    if ((token_file == NULL) == (outdir == NULL))
        return bad("--token-file", "give either --token-file or --out");
    if (outdir) {
        if (jb_path_join(tpath, sizeof(tpath), outdir, "teardown_token") != 0 ||
            jb_path_join(kpath, sizeof(kpath), outdir, "id_ed25519") != 0)
            return bad("--out", "path too long");
        token_file = tpath;
    }
    if (jb_cleanfn_read_token(token_file, &token, err, sizeof(err)) != 0)
        return bad(outdir ? "--out" : "--token-file", err);

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
