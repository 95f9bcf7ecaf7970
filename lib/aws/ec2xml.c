/* EC2 response parsers on the shared expat walker (xmlwalk.h). */
#include "aws/ec2xml.h"

#include "base/err.h"
#include "base/xmlwalk.h"

#include <stdlib.h>
#include <string.h>

#define WHAT "EC2 response XML"

/* Where the resources of a document sit: the element names from depth 2
 * down to the resource's own <item>, and what its id element and prefix
 * are. */
struct shape {
    const char *root;
    const char *path[4];
    int base; /* depth of the resource's <item> */
    const char *id_elem, *id_prefix;
};

static const struct shape INSTANCES = {"DescribeInstancesResponse",
                                       {"reservationSet", "item", "instancesSet", "item"},
                                       5,
                                       "instanceId",
                                       "i-"};
static const struct shape GROUPS = {"DescribeSecurityGroupsResponse",
                                    {"securityGroupInfo", "item", NULL, NULL},
                                    3,
                                    "groupId",
                                    "sg-"};

struct ctx {
    const struct shape *sh;
    struct jb_ec2_page *out;
    size_t cap, tagcap;
    struct jb_ec2_resource cur;
    char *key, *value; /* of the tag being read */
};

int jb_ec2_check_id(const char *id, const char *prefix)
{
    size_t pl = strlen(prefix), n;

    if (id == NULL || strncmp(id, prefix, pl) != 0)
        return JB_ERR_INVALID;
    n = strlen(id + pl);
    if (n < 1 || n > 32 || strspn(id + pl, "0123456789abcdef") != n)
        return JB_ERR_INVALID;
    return 0;
}

static void resource_clear(struct jb_ec2_resource *r)
{
    free(r->id);
    free(r->state);
    free(r->name);
    free(r->profile_arn);
    free(r->launch_time);
    for (size_t i = 0; i < r->ntags; i++) {
        free(r->tags[i].key);
        free(r->tags[i].value);
    }
    free(r->tags);
    memset(r, 0, sizeof(*r));
}

static void tag_clear(struct ctx *c)
{
    free(c->key);
    free(c->value);
    c->key = c->value = NULL;
}

/* Inside a resource: the path from depth 2 to the shape's base matches. */
static int in_resource(const struct jb_xml_walk *w, const struct shape *sh)
{
    if (w->depth < sh->base)
        return 0;
    for (int d = 2; d <= sh->base; d++)
        if (!jb_xml_is(w, d, sh->path[d - 2]))
            return 0;
    return 1;
}

static int on_start(struct jb_xml_walk *w, int depth)
{
    struct ctx *c = w->ctx;
    int b = c->sh->base;

    if (!in_resource(w, c->sh))
        return 0;
    if (depth == b) {
        resource_clear(&c->cur);
        c->tagcap = 0;
    } else if (depth == b + 2 && jb_xml_is(w, b + 1, "tagSet") && jb_xml_is(w, b + 2, "item")) {
        tag_clear(c);
    }
    return 0;
}

static int add_tag(struct jb_xml_walk *w, struct ctx *c)
{
    struct jb_ec2_resource *r = &c->cur;
    int rc;

    if (c->key == NULL)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: a tag without <key>", WHAT);
    if (r->ntags >= JB_EC2_MAX_TAGS)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: more than %d tags on one resource",
                      WHAT, JB_EC2_MAX_TAGS);
    if ((rc = jb_xml_grow(w, (void **)&r->tags, r->ntags, &c->tagcap, sizeof(*r->tags))) != 0)
        return rc;
    if (c->value == NULL && (c->value = strdup("")) == NULL)
        return jb_err(w->err, w->errlen, JB_ERR_NOMEM, "%s: out of memory", WHAT);
    r->tags[r->ntags].key = c->key;
    r->tags[r->ntags].value = c->value;
    r->ntags++;
    c->key = c->value = NULL;
    return 0;
}

static int add_resource(struct jb_xml_walk *w, struct ctx *c)
{
    struct jb_ec2_page *o = c->out;
    int rc;

    if (c->cur.id == NULL)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: an <item> without <%s>", WHAT,
                      c->sh->id_elem);
    if (jb_ec2_check_id(c->cur.id, c->sh->id_prefix) != 0)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: <%s> \"%.40s\" is not %s and hex", WHAT,
                      c->sh->id_elem, c->cur.id, c->sh->id_prefix);
    if (c->sh == &INSTANCES && c->cur.state == NULL)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: instance %s without a state", WHAT,
                      c->cur.id);
    if ((rc = jb_xml_grow(w, (void **)&o->items, o->n, &c->cap, sizeof(*o->items))) != 0)
        return rc;
    o->items[o->n++] = c->cur;
    memset(&c->cur, 0, sizeof(c->cur));
    return 0;
}

static int on_end(struct jb_xml_walk *w, int depth, const char *text, size_t len)
{
    struct ctx *c = w->ctx;
    int b = c->sh->base;

    if (depth == 2 && jb_xml_is(w, 2, "nextToken")) {
        /* An empty token is "no more pages", as the SDKs read it. */
        return len ? jb_xml_take_text(w, &c->out->next_token, text, len, 0) : 0;
    }
    if (!in_resource(w, c->sh))
        return 0;
    if (depth == b)
        return add_resource(w, c);
    if (depth == b + 1 && jb_xml_is(w, b + 1, c->sh->id_elem))
        return jb_xml_take_text(w, &c->cur.id, text, len, 0);
    if (depth == b + 1 && c->sh == &GROUPS && jb_xml_is(w, b + 1, "groupName"))
        return jb_xml_take_text(w, &c->cur.name, text, len, 0);
    if (depth == b + 1 && c->sh == &INSTANCES && jb_xml_is(w, b + 1, "launchTime"))
        return jb_xml_take_text(w, &c->cur.launch_time, text, len, 0);
    if (depth == b + 2 && c->sh == &INSTANCES && jb_xml_is(w, b + 1, "instanceState") &&
        jb_xml_is(w, b + 2, "name"))
        return jb_xml_take_text(w, &c->cur.state, text, len, 0);
    if (depth == b + 2 && c->sh == &INSTANCES && jb_xml_is(w, b + 1, "iamInstanceProfile") &&
        jb_xml_is(w, b + 2, "arn"))
        return jb_xml_take_text(w, &c->cur.profile_arn, text, len, 0);
    if (!jb_xml_is(w, b + 1, "tagSet") || !jb_xml_is(w, b + 2, "item"))
        return 0;
    if (depth == b + 2)
        return add_tag(w, c);
    if (depth == b + 3 && jb_xml_is(w, b + 3, "key"))
        return jb_xml_take_text(w, &c->key, text, len, 0);
    if (depth == b + 3 && jb_xml_is(w, b + 3, "value"))
        return jb_xml_take_text(w, &c->value, text, len, 1);
    return 0;
}

void jb_ec2_page_free(struct jb_ec2_page *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        resource_clear(&p->items[i]);
    free(p->items);
    free(p->next_token);
    memset(p, 0, sizeof(*p));
}

static int parse(const struct shape *sh, const char *xml, size_t len, struct jb_ec2_page *out,
                 char *err, size_t errlen)
{
    struct ctx c = {.sh = sh, .out = out};
    struct jb_xml_walk *w = calloc(1, sizeof(*w));
    int rc;

    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "%s: out of memory", WHAT);
    *w = (struct jb_xml_walk){
        .what = WHAT,
        .root = sh->root,
        .on_start = on_start,
        .on_end = on_end,
        .ctx = &c,
        .err = err,
        .errlen = errlen,
    };
    rc = jb_xml_walk_run(w, xml, len);
    resource_clear(&c.cur);
    tag_clear(&c);
    free(w);
    if (rc)
        jb_ec2_page_free(out);
    return rc;
}

int jb_ec2xml_parse_instances(const char *xml, size_t len, struct jb_ec2_page *out, char *err,
                              size_t errlen)
{
    return parse(&INSTANCES, xml, len, out, err, errlen);
}

int jb_ec2xml_parse_groups(const char *xml, size_t len, struct jb_ec2_page *out, char *err,
                           size_t errlen)
{
    return parse(&GROUPS, xml, len, out, err, errlen);
}

const char *jb_ec2_tag_value(const struct jb_ec2_resource *r, const char *key)
{
    for (size_t i = 0; i < r->ntags; i++)
        if (strcmp(r->tags[i].key, key) == 0)
            return r->tags[i].value;
    return NULL;
}

struct ack_ctx {
    int ret; /* 1 true, 0 false, -1 absent */
};

static int ack_end(struct jb_xml_walk *w, int depth, const char *text, size_t len)
{
    struct ack_ctx *a = w->ctx;
    int v;
    (void)len;
    if (depth != 2 || !jb_xml_is(w, 2, "return"))
        return 0;
    if (jb_xml_parse_bool(w, text, &v) != 0)
        return JB_ERR_PARSE;
    a->ret = v;
    return 0;
}

int jb_ec2xml_parse_ack(const char *xml, size_t len, const char *root, char *err, size_t errlen)
{
    struct ack_ctx a = {.ret = -1};
    struct jb_xml_walk *w = calloc(1, sizeof(*w));
    int rc;

    if (w == NULL)
        return jb_err(err, errlen, JB_ERR_NOMEM, "%s: out of memory", WHAT);
    *w = (struct jb_xml_walk){
        .what = WHAT,
        .root = root,
        .on_end = ack_end,
        .ctx = &a,
        .err = err,
        .errlen = errlen,
    };
    rc = jb_xml_walk_run(w, xml, len);
    free(w);
    if (rc == 0 && a.ret == 0)
        rc = jb_err(err, errlen, JB_ERR_AWS, "EC2: <%s> says <return>false</return>", root);
    return rc;
}
