/* provisioner: makes short-lived SSH jump boxes.  See README.md. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "usage: provisioner COMMAND [options]\n"
                            "\n"
                            "Makes short-lived SSH jump boxes with keys it generates itself.\n"
                            "\n"
                            "commands:\n"
                            "  create   create a jump box and print how to reach it (JSON)\n"
                            "  list     list live leases (JSON array)\n"
                            "  keygen   write a new Ed25519 keypair in OpenSSH format\n"
                            "  request  ask the build Lambda function for a jump box\n"
                            "\n"
                            "With AWS_LAMBDA_RUNTIME_API set and no command it serves the\n"
                            "build function (docs/lambda.md).\n"
                            "\n"
                            "Run 'provisioner COMMAND --help' for a command's options.\n"
                            "Exit status: 0 done, 1 failed (nothing left running), 2 bad input.\n";

int main(int argc, char **argv)
{
    if (argc < 2 && getenv("AWS_LAMBDA_RUNTIME_API") != NULL)
        return cmd_lambda_build();
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "keygen") == 0)
        return cmd_keygen(argc - 1, argv + 1);
    if (strcmp(argv[1], "create") == 0)
        return cmd_create(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(argc - 1, argv + 1);
    if (strcmp(argv[1], "request") == 0)
        return cmd_request(argc - 1, argv + 1);
    fprintf(stderr, "provisioner: command: unknown command '%s' (try --help)\n", argv[1]);
    return 2;
}
