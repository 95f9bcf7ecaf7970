/* The local event log (log.h): one JSON line per event, each line one
 * write(2) on an O_APPEND descriptor, so lines of several processes do not
 * interleave. */
#include "base/log.h"

#include "base/fsutil.h"
#include "base/parse.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int jb_log_open(const char *env, const char *work_root)
{
    char path[PATH_MAX];

    if (env && strcmp(env, "-") == 0)
        return dup(2);
    if (env && *env)
        snprintf(path, sizeof(path), "%s", env);
    else if (work_root == NULL || jb_path_join(path, sizeof(path), work_root, "audit.log") != 0)
        return -1;
    /* A fresh work root does not exist yet: it is made later, by the
     * first stack, and the log of that first run would be lost. */
    else if (jb_mkdir_p(work_root, 0700, NULL, 0) != 0)
        return -1;
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

void jb_log_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

void jb_log_event(int fd, const char *event, const char *stack_id, const char *const *kv)
{
    char now[JB_RFC3339_LEN], *line;
    cJSON *o;
    size_t n;

    if (fd < 0 || (o = cJSON_CreateObject()) == NULL)
        return;
    jb_format_rfc3339(time(NULL), now);
    cJSON_AddStringToObject(o, "time", now);
    cJSON_AddStringToObject(o, "event", event);
    if (stack_id)
        cJSON_AddStringToObject(o, "stack_id", stack_id);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    for (; kv && kv[0] && kv[1]; kv += 2)
        cJSON_AddStringToObject(o, kv[0], kv[1]);
    if ((line = cJSON_PrintUnformatted(o)) != NULL) {
        n = strlen(line);
        line[n] = '\n'; /* overwrite the NUL: one write, one line */
        if (write(fd, line, n + 1) < 0) {
            /* best effort, see header */
        }
        free(line);
    }
    cJSON_Delete(o);
}
