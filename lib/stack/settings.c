/* The settings (settings.h): the one place jumpbox reads its own
 * environment variables.  Only the AWS client (lib/aws, AWS's variables by
 * the SDKs' rules), the HTTP transport's CA bundle and the Lambda runtime's
 * own variables are read elsewhere (tests/layers.py keeps the list). */
#include "stack/settings.h"

#include "base/env.h"
#include "base/parse.h"

#include <stdlib.h>
#include <string.h>

long jb_settings_tf_timeout(const char *v)
{
    long secs;

    if (v == NULL || *v == '\0' || jb_parse_duration(v, &secs, NULL, 0) != 0)
        return -1;
    return secs;
}

void jb_settings_read(struct jb_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->work_dir = jb_env("JUMPBOX_WORK_DIR");
    s->xdg_cache_home = jb_env("XDG_CACHE_HOME");
    s->home = jb_env("HOME");
    s->xdg_state_home = jb_env("XDG_STATE_HOME");
    s->module_dir = jb_env("JUMPBOX_MODULE_DIR");
    s->module_vars = jb_env("JUMPBOX_MODULE_VARS");
    s->box_role_id = jb_env("JUMPBOX_BOX_ROLE_ID");
    s->terraform = jb_env("JUMPBOX_TERRAFORM");
    s->tf_plugin_dir = jb_env("JUMPBOX_TF_PLUGIN_DIR");
    s->tf_timeout_s = jb_settings_tf_timeout(jb_env("JUMPBOX_TF_TIMEOUT"));
    s->reap_grace = jb_env("JUMPBOX_REAP_GRACE");
    s->reap_page_size = jb_env("JUMPBOX_REAP_PAGE_SIZE");
    s->box_instance_profile = jb_env("JUMPBOX_BOX_INSTANCE_PROFILE");
    s->user = jb_env("USER");
    s->audit_log = jb_env("JUMPBOX_AUDIT_LOG");
    s->checkip_url = jb_env("JUMPBOX_CHECKIP_URL");
    s->max_ttl = jb_env("JUMPBOX_MAX_TTL");
    s->state = jb_env("JUMPBOX_STATE");
    s->module = jb_env("JUMPBOX_MODULE");
    s->allowed_cidrs = jb_env("JUMPBOX_ALLOWED_CIDRS");
    s->allowed_targets = jb_env("JUMPBOX_ALLOWED_TARGETS");
    s->allow_plaintext_key = jb_env("JUMPBOX_ALLOW_PLAINTEXT_KEY");
    s->sweep_parallel = jb_env("JUMPBOX_SWEEP_PARALLEL");
    s->deadline_reserve = jb_env("JUMPBOX_DEADLINE_RESERVE");
    s->xdg_runtime_dir = jb_env("XDG_RUNTIME_DIR");
    s->tmpdir = jb_env("TMPDIR");
    s->lambda_runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
}
