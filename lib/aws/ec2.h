/* The few EC2 Query API calls the reaper and an aws stack's destroy make (API version 2016-11-15),
 * over jb_aws_request (SigV4, retried).  Each is a form-encoded POST to the
 * EC2 endpoint: AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL, else
 * https://ec2.REGION.amazonaws.com.
 *
 * Errors (besides those of jb_aws_request): JB_ERR_NOTFOUND when EC2 says
 * the resource does not exist (InvalidInstanceID.NotFound,
 * InvalidGroup.NotFound), JB_ERR_AUTH for 401/403 (UnauthorizedOperation,
 * AuthFailure), JB_ERR_PARSE for an answer that is not what EC2 documents,
 * JB_ERR_AWS for any other error answer.  The detail names the call and
 * the resource: "DeleteSecurityGroup sg-0abc: HTTP 400 DependencyViolation:
 * resource sg-0abc has a dependent object". */
#ifndef JB_EC2_H
#define JB_EC2_H

#include <stddef.h>

#include "aws/creds.h"
#include "aws/ec2xml.h"
#include "aws/request.h"

#define JB_EC2_PAGE_MIN 5 /* MaxResults bounds of both Describe calls */
#define JB_EC2_PAGE_MAX 1000
#define JB_EC2_PAGE_DEFAULT 200
#define JB_EC2_FILTER_VALUES_MAX 200

struct jb_ec2_config {
    const char *region;                 /* NULL: jb_aws_region(NULL, ...) */
    struct jb_creds_provider *creds;    /* NULL: the default chain, owned by the client */
    const struct jb_http_options *http; /* NULL: defaults; must outlive the client */
    int page_size;                      /* MaxResults: 0 = JB_EC2_PAGE_DEFAULT, else 5..1000 */
};

struct jb_ec2_client;

int jb_ec2_client_new(const struct jb_ec2_config *cfg, struct jb_ec2_client **out, char *err,
                      size_t errlen);
void jb_ec2_client_free(struct jb_ec2_client *c);
const char *jb_ec2_client_region(const struct jb_ec2_client *c);

/* Filter.N.Name / Filter.N.Value.M: "tag-key", "instance-state-name", … */
struct jb_ec2_filter {
    const char *name;
    const char *const *values;
    size_t nvalues; /* 1..JB_EC2_FILTER_VALUES_MAX */
};

/* One page of DescribeInstances / DescribeSecurityGroups with these
 * filters.  token: NULL for the first page, then the previous page's
 * next_token.  out is freed with jb_ec2_page_free. */
int jb_ec2_describe_instances(struct jb_ec2_client *c, const struct jb_ec2_filter *filters,
                              size_t nfilters, const char *token, struct jb_ec2_page *out,
                              char *err, size_t errlen);
int jb_ec2_describe_security_groups(struct jb_ec2_client *c, const struct jb_ec2_filter *filters,
                                    size_t nfilters, const char *token, struct jb_ec2_page *out,
                                    char *err, size_t errlen);

/* TerminateInstances of one instance (terminating one already shutting
 * down or terminated is a success in EC2). */
int jb_ec2_terminate_instance(struct jb_ec2_client *c, const char *instance_id, char *err,
                              size_t errlen);

/* Waits until none of ids[0..n) is listed by DescribeInstances in a state
 * other than terminated (EC2 lists a terminated instance for a while, then
 * not at all), looking again with a growing pause, until limit_ms
 * (jb_clock_mono_ms) passes or stop(stop_arg) says so (stop may be NULL).
 * alive[i] (n of them) ends 1 for each instance still there.  Returns how
 * many are, or a negative error when EC2 could not be asked (err). */
int jb_ec2_wait_terminated(struct jb_ec2_client *c, const char *const *ids, size_t n, int *alive,
                           long long limit_ms, int (*stop)(void *), void *stop_arg, char *err,
                           size_t errlen);

/* DeleteSecurityGroup by id; its own rules go with it.  While an instance
 * or interface still uses the group, EC2 answers DependencyViolation
 * (JB_ERR_AWS). */
int jb_ec2_delete_security_group(struct jb_ec2_client *c, const char *group_id, char *err,
                                 size_t errlen);

#endif
