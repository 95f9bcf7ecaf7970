/* The error of a failed AWS call, from its header, JSON or XML body (aws_error.h).
 * XML is walked with expat under xmlwalk's limits; nothing is trusted to fit. */
#include "aws/aws_error.h"

#include "base/err.h"
#include "base/xmlwalk.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct found {
    char code[128];
    char message[256];
};

/* The first <Code> and <Message> directly inside an <Error>, wherever that
 * <Error> sits: the root (S3) or below it (EC2, query protocol).  A field
 * already set (the code from X-Amzn-ErrorType) is kept. */
static int on_error_field(struct jb_xml_walk *w, int depth, const char *text, size_t len)
{
    struct found *f = w->ctx;

    (void)len;
    if (!jb_xml_is(w, depth - 1, "Error"))
        return 0;
    if (jb_xml_is(w, depth, "Code") && !f->code[0])
        snprintf(f->code, sizeof(f->code), "%s", text);
    else if (jb_xml_is(w, depth, "Message") && !f->message[0])
        snprintf(f->message, sizeof(f->message), "%s", text);
    return 0;
}

static void from_xml(const char *body, size_t len, struct found *f)
{
    struct jb_xml_walk *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return;
    *w = (struct jb_xml_walk){
        .what = "AWS error XML",
        .root = NULL, /* any: three services, three roots */
        .on_end = on_error_field,
        .ctx = f,
        .cut_text = 1, /* only ever goes into an error message */
    };
    /* A body that is not XML leaves the fields as they are: the status
     * line still tells what happened. */
    (void)jb_xml_walk_run(w, body, len);
    free(w);
}

static void from_json(const cJSON *j, struct found *f)
{
    static const char *const ck[] = {"__type", "code", "Code", "Type"};
    static const char *const mk[] = {"message", "Message", "errorMessage"};
    size_t i;

    for (i = 0; !f->code[0] && i < sizeof(ck) / sizeof(*ck); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, ck[i]);
        if (cJSON_IsString(v))
            snprintf(f->code, sizeof(f->code), "%s", v->valuestring);
    }
    for (i = 0; !f->message[0] && i < sizeof(mk) / sizeof(*mk); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, mk[i]);
        if (cJSON_IsString(v))
            snprintf(f->message, sizeof(f->message), "%s", v->valuestring);
    }
}

static void copy_printable(char *out, size_t outlen, const char *in)
{
    size_t i, j = 0;

    if (outlen == 0)
        return;
    for (i = 0; in[i] != '\0' && j + 1 < outlen; i++)
        out[j++] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
    out[j] = '\0';
}

void jb_aws_error_parse(long status, const char *errortype, const char *body, size_t len,
                        char *code, size_t codelen, char *message, size_t messagelen)
{
    struct found f = {{0}, {0}};
    const char *p;
    cJSON *j;

    if (codelen)
        code[0] = '\0';
    if (messagelen)
        message[0] = '\0';
    if (status < 300 || body == NULL)
        return;
    if (errortype != NULL)
        snprintf(f.code, sizeof(f.code), "%.*s", (int)strcspn(errortype, ":"), errortype);
    if ((j = cJSON_ParseWithLength(body, len)) != NULL) {
        from_json(j, &f);
        cJSON_Delete(j);
    } else if (memchr(body, '<', len) != NULL) {
        from_xml(body, len, &f); /* keeps a code the header gave */
    }
    /* As botocore's JSON parser: "ns#ThrottlingException:http://..." and
     * "aws.protocoltests#ThrottlingException" -> "ThrottlingException". */
    f.code[strcspn(f.code, ":")] = '\0';
    p = strrchr(f.code, '#');
    copy_printable(code, codelen, p ? p + 1 : f.code);
    copy_printable(message, messagelen, f.message);
}
