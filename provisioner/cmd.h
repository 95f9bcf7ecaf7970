/* Command handlers of the provisioner.  Each returns an exit status:
 * 0 done, 1 failed after work began, 2 bad input (nothing was done). */
#ifndef PROVISIONER_CMD_H
#define PROVISIONER_CMD_H

int cmd_keygen(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_list(int argc, char **argv);

#endif
