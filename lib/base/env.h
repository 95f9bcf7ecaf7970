/* Environment variables as the AWS CLI and our programs read them: a
 * variable set to the empty string counts as unset. */
#ifndef JB_ENV_H
#define JB_ENV_H

/* getenv(name), or NULL when it is unset or empty. */
const char *jb_env(const char *name);

#endif
