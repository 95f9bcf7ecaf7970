/* The XML of the few S3 calls jumpbox makes: parsers (expat, never string
 * search) for the responses, and the DeleteObjects request builder.
 *
 * Every parser is bounded: the document, each element's text, the nesting
 * depth and the number of entries have limits, and a document type
 * declaration is refused (no entity tricks).  Malformed, truncated or
 * unexpected documents give JB_ERR_PARSE with a one-line reason.  A response
 * whose root is <Error> gives JB_ERR_AWS with "Code: Message" (S3 may answer
 * 200 with an Error document, e.g. for DeleteObjects).
 *
 * Strings in the results are heap copies, NUL-terminated, owned by the
 * result; free a result with its *_free function (safe on a zeroed or
 * half-filled result, and twice). */
#ifndef JB_S3XML_H
#define JB_S3XML_H

#include <stddef.h>

#define JB_S3XML_MAX_DOC (8u * 1024 * 1024) /* bytes of one response document */
#define JB_S3XML_MAX_TEXT 4096              /* bytes of one element's text */
#define JB_S3XML_MAX_ENTRIES 10000          /* keys/versions/errors in one page */
#define JB_S3_KEY_MAX 1024                  /* S3's limit on a key, in bytes */
#define JB_S3_DELETE_BATCH 1000             /* S3's limit on keys per DeleteObjects */
#define JB_S3_MD5_B64_LEN 25                /* base64 of 16 bytes, plus NUL */

/* One ListObjectsV2 page. */
struct jb_s3_list_page {
    char **keys;
    size_t nkeys;
    int truncated;    /* <IsTruncated>true</IsTruncated> */
    char *next_token; /* NextContinuationToken, or NULL */
};

/* One entry of ListObjectVersions: an object version or a delete marker. */
struct jb_s3_version {
    char *key;
    char *version_id; /* "null" for objects written before versioning */
    int delete_marker;
    int is_latest;
};

struct jb_s3_versions_page {
    struct jb_s3_version *items;
    size_t n;
    int truncated;
    char *next_key_marker;        /* NextKeyMarker, or NULL */
    char *next_version_id_marker; /* NextVersionIdMarker, or NULL */
};

/* A key DeleteObjects could not delete. */
struct jb_s3_delete_error {
    char *key;
    char *version_id; /* or NULL */
    char *code;
    char *message;
};

struct jb_s3_delete_result {
    size_t ndeleted; /* <Deleted> entries (0 in quiet mode) */
    struct jb_s3_delete_error *errors;
    size_t nerrors;
};

/* An S3 error document.  Both fields are always NUL-terminated. */
struct jb_s3_error {
    char code[64];
    char message[256];
};

/* ListObjectsV2 (<ListBucketResult>).  When the document says
 * <EncodingType>url</EncodingType>, keys are URL-decoded. */
int jb_s3xml_parse_list(const char *xml, size_t len, struct jb_s3_list_page *out, char *err,
                        size_t errlen);
void jb_s3_list_page_free(struct jb_s3_list_page *p);

/* ListObjectVersions (<ListVersionsResult>): <Version> and <DeleteMarker>
 * entries in document order; keys and key markers URL-decoded as above.
 * JB_ERR_UNSUPPORTED when the answer is a plain <ListBucketResult> (servers
 * without versioning that ignore ?versions). */
int jb_s3xml_parse_versions(const char *xml, size_t len, struct jb_s3_versions_page *out, char *err,
                            size_t errlen);
void jb_s3_versions_page_free(struct jb_s3_versions_page *p);

/* DeleteObjects (<DeleteResult>): counts <Deleted>, copies each <Error>. */
int jb_s3xml_parse_delete(const char *xml, size_t len, struct jb_s3_delete_result *out, char *err,
                          size_t errlen);
void jb_s3_delete_result_free(struct jb_s3_delete_result *r);

/* An <Error> document.  JB_ERR_PARSE when it is not one; over-long Code or
 * Message text is cut, not refused (they only go into error messages). */
int jb_s3xml_parse_error(const char *xml, size_t len, struct jb_s3_error *out, char *err,
                         size_t errlen);

/* One object (or object version) to delete. */
struct jb_s3_object_id {
    const char *key;
    const char *version_id; /* NULL: the current version (adds a delete marker
                               in a versioned bucket) */
};

/* Builds the DeleteObjects request body for n (1..JB_S3_DELETE_BATCH)
 * objects, with <Quiet>true</Quiet> when quiet, and its Content-MD5 header
 * value (base64 of the MD5 of the body; S3 requires it).  Keys are escaped;
 * a key or version id that XML 1.0 cannot carry (control characters but
 * tab, CR, LF), an empty or over-long key, or bad UTF-8 gives
 * JB_ERR_INVALID.  *body is freed with free(). */
int jb_s3xml_build_delete(const struct jb_s3_object_id *objs, size_t n, int quiet, char **body,
                          size_t *bodylen, char md5_b64[JB_S3_MD5_B64_LEN], char *err,
                          size_t errlen);

#endif
