/* The bounded expat walker under the AWS response parsers (s3xml, ec2xml).
 *
 * It keeps the element path, collects the text of the element being read
 * (at most JB_XML_MAX_TEXT bytes), and hands each closed element to a
 * document-specific callback that looks at the path, never at raw bytes.
 * Limits: the document (JB_XML_MAX_DOC), the nesting depth
 * (JB_XML_MAX_DEPTH), and a document type declaration is refused, so no
 * entity can expand.  Every message starts with w->what ("S3 response
 * XML"), so the caller's error names the service. */
#ifndef JB_XMLWALK_H
#define JB_XMLWALK_H

#include <expat.h>
#include <stddef.h>

#define JB_XML_MAX_DOC (8u * 1024 * 1024) /* bytes of one response document */
#define JB_XML_MAX_TEXT 4096              /* bytes of one element's text */
#define JB_XML_MAX_ENTRIES 10000          /* entries of one list in one document */
#define JB_XML_MAX_DEPTH 16
#define JB_XML_NAME_MAX 48

struct jb_xml_walk;
/* Called when an element below the root closes (depth 1 is the root), or
 * opens.  Return 0 or a negative JB_ERR_* made with jb_xml_fail's err. */
typedef int (*jb_xml_end_fn)(struct jb_xml_walk *w, int depth, const char *text, size_t len);
typedef int (*jb_xml_start_fn)(struct jb_xml_walk *w, int depth);

struct jb_xml_error_doc {
    char code[64];
    char message[256];
};

struct jb_xml_walk {
    /* Set by the caller. */
    const char *what;        /* message prefix, e.g. "S3 response XML" */
    const char *root;        /* the expected root element; NULL: any */
    const char *alt_root;    /* a root meaning "not supported here" (JB_ERR_UNSUPPORTED), or NULL */
    const char *error_root;  /* a root that is an error document (S3's "Error"), or NULL */
    const char *error_label; /* its message prefix, e.g. "S3" */
    jb_xml_start_fn on_start;
    jb_xml_end_fn on_end;
    void *ctx;
    char *err;
    size_t errlen;
    /* The walker's own. */
    XML_Parser p;
    int depth;
    char names[JB_XML_MAX_DEPTH + 1][JB_XML_NAME_MAX];
    char text[JB_XML_MAX_TEXT + 1];
    size_t textlen;
    int cut_text; /* over-long text is cut (error documents), not refused;
                     the caller may set it for a document of its own */
    int error_doc;
    struct jb_xml_error_doc errdoc; /* <Code> and <Message> of an error_root document */
    int rc;
};

/* Parses the whole document.  Returns 0, the callback's error, JB_ERR_PARSE
 * for bad or unexpected XML, JB_ERR_UNSUPPORTED for alt_root, or JB_ERR_AWS
 * ("error_label: Code: Message" in err) when the root is error_root; the
 * code and message are then in w->errdoc. */
int jb_xml_walk_run(struct jb_xml_walk *w, const char *xml, size_t len);

/* Name of the element at depth d (1 = root); "" past the path. */
const char *jb_xml_at(const struct jb_xml_walk *w, int d);
int jb_xml_is(const struct jb_xml_walk *w, int d, const char *name);

/* A heap copy of an element's text into *dst, which must still be NULL
 * (given twice is an error) and, unless allow_empty, not empty. */
int jb_xml_take_text(struct jb_xml_walk *w, char **dst, const char *text, size_t len,
                     int allow_empty);

/* "true" or "false". */
int jb_xml_parse_bool(struct jb_xml_walk *w, const char *text, int *out);

/* Room for one more element of size sz in *arr (n used, *cap allocated);
 * more than JB_XML_MAX_ENTRIES is an error. */
int jb_xml_grow(struct jb_xml_walk *w, void **arr, size_t n, size_t *cap, size_t sz);

#endif
