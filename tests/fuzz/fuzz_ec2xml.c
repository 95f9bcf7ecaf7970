#include "fuzz.h"
#include "aws/ec2xml.h"
#include "base/err.h"

/* The input stands for an EC2 response body; its first byte picks the
 * parser (instances, groups, TerminateInstances / DeleteSecurityGroup
 * answer) and the rest is the document. */
static void check_page(const struct jb_ec2_page *p, const char *prefix, int instances)
{
    FUZZ_CHECK(p->n <= 10000);
    FUZZ_CHECK(p->next_token == NULL || p->next_token[0] != '\0');
    for (size_t i = 0; i < p->n; i++) {
        const struct jb_ec2_resource *r = &p->items[i];
        FUZZ_CHECK(jb_ec2_check_id(r->id, prefix) == 0);
        FUZZ_CHECK(strlen(r->id) < JB_EC2_ID_MAX);
        FUZZ_CHECK(instances ? (r->state != NULL && r->state[0] != '\0') : r->state == NULL);
        FUZZ_CHECK(r->ntags <= JB_EC2_MAX_TAGS);
        for (size_t t = 0; t < r->ntags; t++) {
            FUZZ_CHECK(r->tags[t].key != NULL && r->tags[t].key[0] != '\0');
            FUZZ_CHECK(r->tags[t].value != NULL);
            FUZZ_CHECK(jb_ec2_tag_value(r, r->tags[t].key) != NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct jb_ec2_page p;
    const char *xml;
    size_t len;
    int rc;

    if (size < 1)
        return 0;
    xml = (const char *)data + 1;
    len = size - 1;
    err[0] = '\0';
    memset(&p, 0x5a, sizeof(p));
    switch (data[0] % 4) {
    case 0:
        rc = jb_ec2xml_parse_instances(xml, len, &p, err, sizeof(err));
        if (rc == 0)
            check_page(&p, "i-", 1);
        break;
    case 1:
        rc = jb_ec2xml_parse_groups(xml, len, &p, err, sizeof(err));
        if (rc == 0)
            check_page(&p, "sg-", 0);
        break;
    case 2:
        memset(&p, 0, sizeof(p));
        rc = jb_ec2xml_parse_ack(xml, len, "TerminateInstancesResponse", err, sizeof(err));
        break;
    default:
        memset(&p, 0, sizeof(p));
        rc = jb_ec2xml_parse_ack(xml, len, "DeleteSecurityGroupResponse", err, sizeof(err));
        break;
    }
    if (rc != 0) {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(p.n == 0 && p.items == NULL && p.next_token == NULL);
    }
    jb_ec2_page_free(&p);
    jb_ec2_page_free(&p);
    return 0;
}
