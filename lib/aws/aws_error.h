/* The error code and message of a failed AWS call, from whichever form the
 * service answered in: the X-Amzn-ErrorType header, a JSON body
 * ({"__type"|"code"|"Code"|"Type", "message"|"Message"|"errorMessage"}),
 * or an XML body parsed with expat (lib/base/xmlwalk): S3's <Error>,
 * EC2's <Response><Errors><Error>, the query protocol's
 * <ErrorResponse><Error>. */
#ifndef JB_AWS_ERROR_H
#define JB_AWS_ERROR_H

#include <stddef.h>

/* code and message get "" when status is below 300, the body is NULL or
 * names neither.  The code loses botocore's decorations ("ns#Code:uri" ->
 * "Code"); both keep printable ASCII only ('?' for anything else), cut to
 * their buffers.  errortype: the X-Amzn-ErrorType header or NULL. */
void jb_aws_error_parse(long status, const char *errortype, const char *body, size_t len,
                        char *code, size_t codelen, char *message, size_t messagelen);

#endif
