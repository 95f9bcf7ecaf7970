/* Every environment variable jumpbox itself reads, read once by each
 * program's main() and the Lambda init into one struct that is passed down
 * (OpenSSH's Options, filled by readconf.c, the model). */
#ifndef JB_SETTINGS_H
#define JB_SETTINGS_H

/* One rule for every value: set to the empty string counts as unset
 * (base/env), so each field is NULL or a non-empty string.  Values are kept
 * as they were given and checked where they are used, with the message and
 * at the point they always were: a bad setting fails only a command that
 * uses it.  The strings are the environment's own; nothing changes the
 * environment after jb_settings_read (the Lambda init sets its defaults,
 * lambda/lambdafn, before it). */
struct jb_settings {
    /* Where a stack's local files live (stack/stackcfg): */
    const char *work_dir;       /* JUMPBOX_WORK_DIR */
    const char *xdg_cache_home; /* XDG_CACHE_HOME: <it>/jumpbox */
    const char *home;           /* HOME: ~/.cache/jumpbox, ~/.local/state/jumpbox */
    const char *xdg_state_home; /* XDG_STATE_HOME: the default state (stack/state) */
    const char *module_dir;     /* JUMPBOX_MODULE_DIR */
    /* A create's inputs (stack/stack_create): */
    const char *module_vars; /* JUMPBOX_MODULE_VARS: a JSON file, read once per create */
    const char *box_role_id; /* JUMPBOX_BOX_ROLE_ID */
    /* Terraform (stack/terraform, stack/stack): */
    const char *terraform;     /* JUMPBOX_TERRAFORM */
    const char *tf_plugin_dir; /* JUMPBOX_TF_PLUGIN_DIR */
    /* JUMPBOX_TF_TIMEOUT as seconds; -1 when unset or not a duration (it
     * was always ignored then: a cap, never an error). */
    long tf_timeout_s;
    /* The reaper (stack/reap): */
    const char *reap_grace;           /* JUMPBOX_REAP_GRACE */
    const char *reap_page_size;       /* JUMPBOX_REAP_PAGE_SIZE */
    const char *box_instance_profile; /* JUMPBOX_BOX_INSTANCE_PROFILE */
    /* Who runs us (stack/cli), the event log (base/log), --allow-my-ip
     * (net/myip): */
    const char *user;        /* USER */
    const char *audit_log;   /* JUMPBOX_AUDIT_LOG; "-": stderr */
    const char *checkip_url; /* JUMPBOX_CHECKIP_URL */
    /* The programs': */
    const char *max_ttl;             /* JUMPBOX_MAX_TTL */
    const char *state;               /* JUMPBOX_STATE (the functions) */
    const char *module;              /* JUMPBOX_MODULE (the functions) */
    const char *allowed_cidrs;       /* JUMPBOX_ALLOWED_CIDRS (build function) */
    const char *allowed_targets;     /* JUMPBOX_ALLOWED_TARGETS (build function) */
    const char *allow_plaintext_key; /* JUMPBOX_ALLOW_PLAINTEXT_KEY (build function) */
    const char *sweep_parallel;      /* JUMPBOX_SWEEP_PARALLEL (clean function) */
    const char *deadline_reserve;    /* JUMPBOX_DEADLINE_RESERVE (the functions) */
    const char *xdg_runtime_dir;     /* XDG_RUNTIME_DIR (provisioner run's directory) */
    const char *tmpdir;              /* TMPDIR (the same, next) */
    /* AWS_LAMBDA_RUNTIME_API: the one exception to the empty rule.  Set at
     * all, even empty, the programs serve a function (as they always did),
     * and the Runtime API client says what is wrong with it. */
    const char *lambda_runtime_api;
};

/* Fills s from the environment.  Cannot fail: nothing is checked here. */
void jb_settings_read(struct jb_settings *s);

/* The JUMPBOX_TF_TIMEOUT duration parsed as the settings keep it: secs, or
 * -1 for NULL or not a duration.  (jb_settings_read uses it; the unit tests
 * too.) */
long jb_settings_tf_timeout(const char *v);

#endif
