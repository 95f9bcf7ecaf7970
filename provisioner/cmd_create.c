#include "cmd.h"
int cmd_create(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 1;
}
int cmd_list(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 1;
}
