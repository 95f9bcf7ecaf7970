/* Placeholder until the Step Functions client lands: every call says so. */
#include "sfn.h"

#include "err.h"

int jb_sfn_check_token(const char *token, char *err, size_t errlen)
{
    (void)token;
    return jb_err(err, errlen, JB_ERR_UNSUPPORTED, "--task-token: Step Functions not built yet");
}

size_t jb_sfn_utf8_head(const char *s, size_t len, size_t max)
{
    (void)s;
    return len < max ? len : max;
}

size_t jb_sfn_utf8_tail(const char *s, size_t len, size_t max)
{
    (void)s;
    return len > max ? len - max : 0;
}

int jb_sfn_send_success(const struct jb_sfn_config *cfg, const char *token, const char *output_json,
                        char *err, size_t errlen)
{
    (void)cfg, (void)token, (void)output_json;
    return jb_err(err, errlen, JB_ERR_UNSUPPORTED, "Step Functions not built yet");
}

int jb_sfn_send_failure(const struct jb_sfn_config *cfg, const char *token, const char *error,
                        const char *cause, char *err, size_t errlen)
{
    (void)cfg, (void)token, (void)error, (void)cause;
    return jb_err(err, errlen, JB_ERR_UNSUPPORTED, "Step Functions not built yet");
}

int jb_sfn_send_heartbeat(const struct jb_sfn_config *cfg, const char *token, char *err,
                          size_t errlen)
{
    (void)cfg, (void)token;
    return jb_err(err, errlen, JB_ERR_UNSUPPORTED, "Step Functions not built yet");
}
