/* The XML of the few EC2 Query API calls the reaper makes: parsers (expat,
 * through lib/base/xmlwalk, never string search) for DescribeInstances,
 * DescribeSecurityGroups and the answers of TerminateInstances and
 * DeleteSecurityGroup.
 *
 * Bounded like the S3 parsers: the document, each element's text, the
 * nesting depth, the resources in one page and the tags of one resource
 * have limits, and a document type declaration is refused.  Malformed,
 * truncated or unexpected documents give JB_ERR_PARSE with a one-line
 * reason.  (EC2's error answers, <Response><Errors>, come with a 4xx/5xx
 * status and are read by lib/net/http.)
 *
 * Ids are checked (i-… or sg-… and hex), since the reaper sends them back
 * and prints them.  Strings are heap copies owned by the page; free a page
 * with jb_ec2_page_free (safe on a zeroed or half-filled page, and twice). */
#ifndef JB_EC2XML_H
#define JB_EC2XML_H

#include <stddef.h>

#define JB_EC2_MAX_TAGS 64 /* of one resource (EC2 allows 50) */
#define JB_EC2_ID_MAX 40   /* "sg-" and 17 hex digits, with room to spare */

struct jb_ec2_tag {
    char *key;   /* never empty */
    char *value; /* may be "" */
};

/* An instance or a security group. */
struct jb_ec2_resource {
    char *id;          /* "i-…" / "sg-…" */
    char *state;       /* instances: instanceState/name ("running", …); groups: NULL */
    char *name;        /* groups: groupName; instances: NULL */
    char *profile_arn; /* instances: iamInstanceProfile/arn, NULL when it has none */
    char *launch_time; /* instances: launchTime as EC2 wrote it (ISO 8601, UTC); else NULL */
    struct jb_ec2_tag *tags;
    size_t ntags;
};

struct jb_ec2_page {
    struct jb_ec2_resource *items;
    size_t n;
    char *next_token; /* nextToken, or NULL on the last page */
};

/* DescribeInstancesResponse: every reservationSet/item/instancesSet/item. */
int jb_ec2xml_parse_instances(const char *xml, size_t len, struct jb_ec2_page *out, char *err,
                              size_t errlen);
/* DescribeSecurityGroupsResponse: every securityGroupInfo/item. */
int jb_ec2xml_parse_groups(const char *xml, size_t len, struct jb_ec2_page *out, char *err,
                           size_t errlen);
void jb_ec2_page_free(struct jb_ec2_page *p);

/* The value of a resource's tag key, or NULL when it has none. */
const char *jb_ec2_tag_value(const struct jb_ec2_resource *r, const char *key);

/* An answer that carries nothing we need (TerminateInstancesResponse,
 * DeleteSecurityGroupResponse): its root must be `root`, and a
 * <return>false</return> is JB_ERR_AWS. */
int jb_ec2xml_parse_ack(const char *xml, size_t len, const char *root, char *err, size_t errlen);

/* i-/sg- (prefix) followed by 1 to 32 lower-case hex digits. */
int jb_ec2_check_id(const char *id, const char *prefix);

#endif
