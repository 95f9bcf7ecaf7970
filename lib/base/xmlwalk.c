/* The expat walker the AWS response parsers share (see xmlwalk.h). */
#include "base/xmlwalk.h"

#include "base/err.h"
#include "base/grow.h"

#include <stdlib.h>
#include <string.h>

static void walk_fail(struct jb_xml_walk *w, int rc)
{
    if (w->rc == 0)
        w->rc = rc;
    XML_StopParser(w->p, XML_FALSE);
}

const char *jb_xml_at(const struct jb_xml_walk *w, int d)
{
    return d >= 1 && d <= w->depth ? w->names[d] : "";
}

int jb_xml_is(const struct jb_xml_walk *w, int d, const char *name)
{
    return strcmp(jb_xml_at(w, d), name) == 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct jb_xml_walk *w = ud;
    (void)attrs;
    if (w->rc)
        return;
    if (w->depth >= JB_XML_MAX_DEPTH) {
        walk_fail(w, jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: elements nested deeper than %d",
                            w->what, JB_XML_MAX_DEPTH));
        return;
    }
    w->depth++;
    size_t n = strlen(name);
    /* A name too long to be one of ours still takes its place in the path. */
    if (n >= JB_XML_NAME_MAX)
        strcpy(w->names[w->depth], "?");
    else
        memcpy(w->names[w->depth], name, n + 1);
    w->textlen = 0;
    w->text[0] = '\0';
    if (w->depth == 1) {
        if (w->error_root && strcmp(name, w->error_root) == 0) {
            w->error_doc = 1;
            w->cut_text = 1;
        } else if (w->alt_root && strcmp(name, w->alt_root) == 0) {
            walk_fail(w, jb_err(w->err, w->errlen, JB_ERR_UNSUPPORTED,
                                "%s: expected <%s>, got <%s>: the server does "
                                "not support this call",
                                w->what, w->root, name));
        } else if (w->root != NULL && strcmp(name, w->root) != 0) {
            walk_fail(w, jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: expected <%s>, got <%.40s>",
                                w->what, w->root, name));
        }
        return;
    }
    if (!w->error_doc && w->on_start) {
        int rc = w->on_start(w, w->depth);
        if (rc)
            walk_fail(w, rc);
    }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    struct jb_xml_walk *w = ud;
    if (w->rc || len <= 0)
        return;
    size_t room = JB_XML_MAX_TEXT - w->textlen;
    size_t n = (size_t)len;
    if (n > room) {
        if (!w->cut_text) {
            walk_fail(w, jb_err(w->err, w->errlen, JB_ERR_PARSE,
                                "%s: text of <%s> longer than %u bytes", w->what,
                                jb_xml_at(w, w->depth), JB_XML_MAX_TEXT));
            return;
        }
        n = room;
    }
    memcpy(w->text + w->textlen, s, n);
    w->textlen += n;
    w->text[w->textlen] = '\0';
}

static void copy_cut(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct jb_xml_walk *w = ud;
    (void)name;
    if (w->rc)
        return;
    if (w->error_doc) {
        if (w->depth == 2 && jb_xml_is(w, 2, "Code"))
            copy_cut(w->errdoc.code, sizeof(w->errdoc.code), w->text);
        else if (w->depth == 2 && jb_xml_is(w, 2, "Message"))
            copy_cut(w->errdoc.message, sizeof(w->errdoc.message), w->text);
    } else if (w->depth > 1 && w->on_end) {
        int rc = w->on_end(w, w->depth, w->text, w->textlen);
        if (rc) {
            walk_fail(w, rc);
            return;
        }
    }
    w->depth--;
    w->textlen = 0;
    w->text[0] = '\0';
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    struct jb_xml_walk *w = ud;
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    walk_fail(w, jb_err(w->err, w->errlen, JB_ERR_PARSE,
                        "%s: a document type declaration is not allowed", w->what));
}

int jb_xml_walk_run(struct jb_xml_walk *w, const char *xml, size_t len)
{
    if (xml == NULL)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: no body", w->what);
    if (len > JB_XML_MAX_DOC)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: %zu bytes, more than the %u allowed",
                      w->what, len, JB_XML_MAX_DOC);
    w->p = XML_ParserCreate("UTF-8");
    if (w->p == NULL)
        return jb_err(w->err, w->errlen, JB_ERR_NOMEM, "%s: out of memory", w->what);
    XML_SetUserData(w->p, w);
    XML_SetElementHandler(w->p, on_start, on_end);
    XML_SetCharacterDataHandler(w->p, on_text);
    XML_SetStartDoctypeDeclHandler(w->p, on_doctype);
    enum XML_Status st = XML_Parse(w->p, xml, (int)len, 1);
    int rc = w->rc;
    if (rc == 0 && st != XML_STATUS_OK)
        rc = jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: line %lu: %s", w->what,
                    (unsigned long)XML_GetCurrentLineNumber(w->p),
                    XML_ErrorString(XML_GetErrorCode(w->p)));
    XML_ParserFree(w->p);
    w->p = NULL;
    if (rc == 0 && w->error_doc)
        rc = jb_err(w->err, w->errlen, JB_ERR_AWS, "%s: %s: %s",
                    w->error_label ? w->error_label : w->what,
                    w->errdoc.code[0] ? w->errdoc.code : "(no Code)",
                    w->errdoc.message[0] ? w->errdoc.message : "(no Message)");
    return rc;
}

int jb_xml_parse_bool(struct jb_xml_walk *w, const char *text, int *out)
{
    if (strcmp(text, "true") == 0)
        *out = 1;
    else if (strcmp(text, "false") == 0)
        *out = 0;
    else
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: <%s> is \"%.20s\", not true or false",
                      w->what, jb_xml_at(w, w->depth), text);
    return 0;
}

int jb_xml_take_text(struct jb_xml_walk *w, char **dst, const char *text, size_t len,
                     int allow_empty)
{
    if (*dst != NULL)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: <%s> given twice", w->what,
                      jb_xml_at(w, w->depth));
    if (len == 0 && !allow_empty)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: empty <%s>", w->what,
                      jb_xml_at(w, w->depth));
    *dst = strndup(text, len);
    if (*dst == NULL)
        return jb_err(w->err, w->errlen, JB_ERR_NOMEM, "%s: out of memory", w->what);
    return 0;
}

int jb_xml_grow(struct jb_xml_walk *w, void **arr, size_t n, size_t *cap, size_t sz)
{
    if (n >= JB_XML_MAX_ENTRIES)
        return jb_err(w->err, w->errlen, JB_ERR_PARSE, "%s: more than %u entries in one page",
                      w->what, JB_XML_MAX_ENTRIES);
    void *na = jb_grow(*arr, cap, n + 1, sz, 64);
    if (na == NULL)
        return jb_err(w->err, w->errlen, JB_ERR_NOMEM, "%s: out of memory", w->what);
    *arr = na;
    return 0;
}
