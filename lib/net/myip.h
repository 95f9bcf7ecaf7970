/* "My address as the internet sees it", for `provisioner request
 * --allow-my-ip`: the backup VM sits behind NAT and rarely knows it. */
#ifndef JB_MYIP_H
#define JB_MYIP_H

#include <stddef.h>

#define JB_CHECKIP_DEFAULT_URL "https://checkip.amazonaws.com/"

/* GETs url (the JUMPBOX_CHECKIP_URL setting; NULL or empty: the default
 * above), which answers with one address, and writes it as a host CIDR
 * ("203.0.113.7/32", or /128 for IPv6). */
int jb_my_ip_cidr(const char *url, char *out, size_t outlen, char *err, size_t errlen);

#endif
