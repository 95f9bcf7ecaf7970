#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/ec2xml.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS " xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\""

/* Shaped like EC2's answer (moto's, trimmed): tags, groups and interfaces
 * nest <item>s and <tagSet>s of their own that are not the instance's. */
static const char INSTANCES[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeInstancesResponse" NS "><requestId>r-1</requestId>"
    "<reservationSet><item><reservationId>r-20bb15a64bff98be0</reservationId>"
    "<groupSet/><instancesSet>"
    "<item><networkInterfaceSet><item><groupSet><item><groupId>sg-64099ddbddfcd97f7</groupId>"
    "<groupName>jumpbox-jb-x</groupName></item></groupSet>"
    "<tagSet><item><key>not-the-instance</key><value>x</value></item></tagSet>"
    "<instanceId>i-00000000000000000</instanceId></item></networkInterfaceSet>"
    "<tagSet><item><key>jumpbox:stack</key><value>jb-x</value></item>"
    "<item><key>jumpbox:expires-at</key><value>2020-01-01T00:00:00Z</value></item>"
    "<item><key>empty</key><value/></item><item><key>amp</key><value>a&amp;b</value></item>"
    "</tagSet>"
    "<instanceId>i-9075abe6dd2ee8920</instanceId>"
    "<instanceState><code>16</code><name>running</name></instanceState>"
    "<stateReason><code/><message/></stateReason>"
    "<launchTime>2026-12-07T05:40:01.000Z</launchTime>"
    "<iamInstanceProfile><arn>arn:aws:iam::123456789012:instance-profile/jumpbox-box</arn>"
    "<id>AIPAEXAMPLE</id></iamInstanceProfile></item>"
    "<item><instanceId>i-0abc1234</instanceId><instanceState><code>32</code>"
    "<name>shutting-down</name></instanceState></item>"
    "</instancesSet></item>"
    "<item><instancesSet><item><instanceId>i-1111</instanceId><instanceState><name>stopped</name>"
    "</instanceState><tagSet/></item></instancesSet></item>"
    "</reservationSet><nextToken>r-20bb15a64bff98be0</nextToken>"
    "</DescribeInstancesResponse>";

static const char GROUPS[] =
    "<DescribeSecurityGroupsResponse" NS "><securityGroupInfo>"
    "<item><groupId>sg-64099ddbddfcd97f7</groupId>"
    "<ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups><item>"
    "<groupId>sg-0000</groupId></item></groups><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp>"
    "</item></ipRanges></item></ipPermissionsEgress>"
    "<tagSet><item><key>jumpbox:stack</key><value>jb-x</value></item></tagSet>"
    "<groupName>jumpbox-jb-x</groupName><groupDescription>d</groupDescription></item>"
    "<item><groupId>sg-1</groupId><groupName>default</groupName></item>"
    "</securityGroupInfo><requestId>request-id</requestId>"
    "</DescribeSecurityGroupsResponse>";

static void test_instances_page(void **state)
{
    struct jb_ec2_page p;
    char err[JB_ERRLEN] = "";
    (void)state;
    assert_int_equal(jb_ec2xml_parse_instances(INSTANCES, strlen(INSTANCES), &p, err, sizeof(err)),
                     0);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.items[0].id, "i-9075abe6dd2ee8920");
    assert_string_equal(p.items[0].state, "running");
    assert_null(p.items[0].name);
    assert_string_equal(p.items[0].profile_arn,
                        "arn:aws:iam::123456789012:instance-profile/jumpbox-box");
    assert_null(p.items[1].profile_arn); /* none */
    assert_string_equal(p.items[0].launch_time, "2026-12-07T05:40:01.000Z");
    assert_null(p.items[1].launch_time);
    assert_int_equal(p.items[0].ntags, 4); /* the interface's tag is not the instance's */
    assert_string_equal(jb_ec2_tag_value(&p.items[0], "jumpbox:stack"), "jb-x");
    assert_string_equal(jb_ec2_tag_value(&p.items[0], "jumpbox:expires-at"),
                        "2020-01-01T00:00:00Z");
    assert_string_equal(jb_ec2_tag_value(&p.items[0], "empty"), "");
    assert_string_equal(jb_ec2_tag_value(&p.items[0], "amp"), "a&b");
    assert_null(jb_ec2_tag_value(&p.items[0], "not-the-instance"));
    assert_null(jb_ec2_tag_value(&p.items[0], "jumpbox:state"));
    assert_string_equal(p.items[1].id, "i-0abc1234");
    assert_string_equal(p.items[1].state, "shutting-down");
    assert_int_equal(p.items[1].ntags, 0);
    assert_string_equal(p.items[2].id, "i-1111"); /* a second reservation */
    assert_string_equal(p.items[2].state, "stopped");
    assert_string_equal(p.next_token, "r-20bb15a64bff98be0");
    jb_ec2_page_free(&p);
    jb_ec2_page_free(&p); /* twice is harmless */
}

static void test_groups_page(void **state)
{
    struct jb_ec2_page p;
    (void)state;
    assert_int_equal(jb_ec2xml_parse_groups(GROUPS, strlen(GROUPS), &p, NULL, 0), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.items[0].id, "sg-64099ddbddfcd97f7"); /* not the rule's sg-0000 */
    assert_string_equal(p.items[0].name, "jumpbox-jb-x");
    assert_null(p.items[0].state);
    assert_int_equal(p.items[0].ntags, 1);
    assert_string_equal(jb_ec2_tag_value(&p.items[0], "jumpbox:stack"), "jb-x");
    assert_string_equal(p.items[1].id, "sg-1");
    assert_int_equal(p.items[1].ntags, 0);
    assert_null(p.next_token);
    jb_ec2_page_free(&p);
}

static void test_empty_pages(void **state)
{
    static const char *const docs[] = {
        "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>",
        "<DescribeInstancesResponse><reservationSet/><nextToken/></DescribeInstancesResponse>",
        "<DescribeInstancesResponse/>",
    };
    struct jb_ec2_page p;
    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++) {
        assert_int_equal(jb_ec2xml_parse_instances(docs[i], strlen(docs[i]), &p, NULL, 0), 0);
        assert_int_equal(p.n, 0);
        assert_null(p.next_token); /* an empty token ends the listing */
        jb_ec2_page_free(&p);
    }
}

#define INST(body)                                                                                 \
    "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>" body                   \
    "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>"
#define RUNNING "<instanceState><name>running</name></instanceState>"

static void test_refuses_bad_documents(void **state)
{
    static const struct {
        const char *xml;
        const char *why;
    } bad[] = {
        {"", "no element found"},
        {"<DescribeInstancesResponse><reservationSet>", "no element found"},
        {"<DescribeSecurityGroupsResponse/>",
         "expected <DescribeInstancesResponse>, got <DescribeSecurityGroupsResponse>"},
        {"<Response><Errors><Error><Code>X</Code></Error></Errors></Response>",
         "expected <DescribeInstancesResponse>, got <Response>"},
        {INST(RUNNING), "an <item> without <instanceId>"},
        {INST("<instanceId>i-12ab</instanceId>"), "instance i-12ab without a state"},
        {INST("<instanceId>i-XYZ</instanceId>" RUNNING), "is not i- and hex"},
        {INST("<instanceId>sg-12</instanceId>" RUNNING), "is not i- and hex"},
        {INST("<instanceId>i-</instanceId>" RUNNING), "is not i- and hex"},
        {INST("<instanceId>i-1 </instanceId>" RUNNING), "is not i- and hex"},
        {INST("<instanceId></instanceId>" RUNNING), "empty <instanceId>"},
        {INST("<instanceId>i-1</instanceId><instanceId>i-2</instanceId>" RUNNING),
         "<instanceId> given twice"},
        {INST("<instanceId>i-1</instanceId>" RUNNING
              "<tagSet><item><value>v</value></item></tagSet>"),
         "a tag without <key>"},
        {INST("<instanceId>i-1</instanceId>" RUNNING "<tagSet><item><key></key></item></tagSet>"),
         "empty <key>"},
        {"<!DOCTYPE x [<!ENTITY a \"b\">]><DescribeInstancesResponse/>",
         "document type declaration is not allowed"},
    };
    char err[JB_ERRLEN];
    struct jb_ec2_page p;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        memset(&p, 0x5a, sizeof(p));
        err[0] = '\0';
        int rc = jb_ec2xml_parse_instances(bad[i].xml, strlen(bad[i].xml), &p, err, sizeof(err));
        if (rc != JB_ERR_PARSE || strstr(err, bad[i].why) == NULL)
            fail_msg("case %zu: rc %d, err \"%s\", wanted \"%s\"", i, rc, err, bad[i].why);
        assert_int_equal(p.n, 0); /* nothing half-filled is handed out */
        assert_null(p.items);
        assert_true(strncmp(err, "EC2 response XML: ", 18) == 0);
        jb_ec2_page_free(&p);
    }
    const char *g =
        "<DescribeSecurityGroupsResponse><securityGroupInfo><item><groupId>i-1</groupId>"
        "</item></securityGroupInfo></DescribeSecurityGroupsResponse>";
    assert_int_equal(jb_ec2xml_parse_groups(g, strlen(g), &p, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "is not sg- and hex"));
    assert_int_equal(jb_ec2xml_parse_instances(NULL, 0, &p, err, sizeof(err)), JB_ERR_PARSE);
}

static void test_limits(void **state)
{
    char *xml = malloc(64 * 1024), err[JB_ERRLEN];
    struct jb_ec2_page p;
    size_t n;
    (void)state;
    assert_non_null(xml);
    /* JB_EC2_MAX_TAGS tags are fine, one more is not. */
    for (int extra = 0; extra <= 1; extra++) {
        n = (size_t)sprintf(xml, "<DescribeInstancesResponse><reservationSet><item><instancesSet>"
                                 "<item><instanceId>i-1</instanceId>" RUNNING "<tagSet>");
        for (int i = 0; i < JB_EC2_MAX_TAGS + extra; i++)
            n += (size_t)sprintf(xml + n, "<item><key>k%d</key><value>v</value></item>", i);
        n += (size_t)sprintf(xml + n, "</tagSet></item></instancesSet></item></reservationSet>"
                                      "</DescribeInstancesResponse>");
        int rc = jb_ec2xml_parse_instances(xml, n, &p, err, sizeof(err));
        if (extra) {
            assert_int_equal(rc, JB_ERR_PARSE);
            assert_non_null(strstr(err, "more than 64 tags"));
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(p.items[0].ntags, JB_EC2_MAX_TAGS);
        }
        jb_ec2_page_free(&p);
    }
    /* Nesting deeper than the walker's limit. */
    n = (size_t)sprintf(xml, "<DescribeInstancesResponse>");
    for (int i = 0; i < 20; i++)
        n += (size_t)sprintf(xml + n, "<a>");
    for (int i = 0; i < 20; i++)
        n += (size_t)sprintf(xml + n, "</a>");
    n += (size_t)sprintf(xml + n, "</DescribeInstancesResponse>");
    assert_int_equal(jb_ec2xml_parse_instances(xml, n, &p, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "nested deeper"));
    /* A tag value longer than the text limit. */
    n = (size_t)sprintf(xml, "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
                             "<tagSet><item><key>k</key><value>");
    memset(xml + n, 'v', 5000);
    n += 5000;
    n += (size_t)sprintf(xml + n, "</value></item></tagSet></item></instancesSet></item>"
                                  "</reservationSet></DescribeInstancesResponse>");
    assert_int_equal(jb_ec2xml_parse_instances(xml, n, &p, err, sizeof(err)), JB_ERR_PARSE);
    assert_non_null(strstr(err, "longer than"));
    free(xml);
}

static void test_ack(void **state)
{
    static const char term[] =
        "<TerminateInstancesResponse" NS "><instancesSet><item><instanceId>i-1</instanceId>"
        "<currentState><code>32</code><name>shutting-down</name></currentState></item>"
        "</instancesSet></TerminateInstancesResponse>";
    static const char del[] = "<DeleteSecurityGroupResponse" NS "><requestId>x</requestId>"
                              "<return>true</return></DeleteSecurityGroupResponse>";
    static const char no[] = "<DeleteSecurityGroupResponse><return>false</return>"
                             "</DeleteSecurityGroupResponse>";
    char err[JB_ERRLEN];
    (void)state;
    assert_int_equal(
        jb_ec2xml_parse_ack(term, strlen(term), "TerminateInstancesResponse", err, sizeof(err)), 0);
    assert_int_equal(
        jb_ec2xml_parse_ack(del, strlen(del), "DeleteSecurityGroupResponse", err, sizeof(err)), 0);
    assert_int_equal(
        jb_ec2xml_parse_ack(no, strlen(no), "DeleteSecurityGroupResponse", err, sizeof(err)),
        JB_ERR_AWS);
    assert_non_null(strstr(err, "<return>false</return>"));
    assert_int_equal(
        jb_ec2xml_parse_ack(term, strlen(term), "DeleteSecurityGroupResponse", err, sizeof(err)),
        JB_ERR_PARSE);
    static const char maybe[] = "<DeleteSecurityGroupResponse><return>maybe</return>"
                                "</DeleteSecurityGroupResponse>";
    assert_int_equal(
        jb_ec2xml_parse_ack(maybe, strlen(maybe), "DeleteSecurityGroupResponse", err, sizeof(err)),
        JB_ERR_PARSE);
    assert_non_null(strstr(err, "not true or false"));
}

static void test_check_id(void **state)
{
    (void)state;
    assert_int_equal(jb_ec2_check_id("i-0123456789abcdef0", "i-"), 0);
    assert_int_equal(jb_ec2_check_id("sg-1", "sg-"), 0);
    assert_int_equal(jb_ec2_check_id("i-0123456789ABCDEF0", "i-"), JB_ERR_INVALID);
    assert_int_equal(jb_ec2_check_id("i-", "i-"), JB_ERR_INVALID);
    assert_int_equal(jb_ec2_check_id("sg-1", "i-"), JB_ERR_INVALID);
    assert_int_equal(jb_ec2_check_id("i-1&Action=x", "i-"), JB_ERR_INVALID);
    assert_int_equal(jb_ec2_check_id("i-0123456789abcdef0123456789abcdef0", "i-"), JB_ERR_INVALID);
    assert_int_equal(jb_ec2_check_id(NULL, "i-"), JB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instances_page), cmocka_unit_test(test_groups_page),
        cmocka_unit_test(test_empty_pages),    cmocka_unit_test(test_refuses_bad_documents),
        cmocka_unit_test(test_limits),         cmocka_unit_test(test_ack),
        cmocka_unit_test(test_check_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
