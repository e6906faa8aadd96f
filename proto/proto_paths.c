/*
 * proto_paths.c: the default places suitd, suit and suit-bench agree on
 * (see proto.h, "default paths").  One definition, so the daemon and its
 * clients cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>

#include "proto.h"

#ifndef SUITD_DEFAULT_RULES_DIR
#define SUITD_DEFAULT_RULES_DIR "/usr/share/suitd/rules"
#endif

const char *proto_default_rules_dir(void)
{
    const char *env = getenv("SUITD_RULES");
    return env && *env ? env : SUITD_DEFAULT_RULES_DIR;
}

int proto_default_socket(char *buf, size_t n, const char *xdg, uid_t euid)
{
    int len;
    /* Root's daemon is the system one even when root has a runtime
     * directory. */
    if (euid == 0)
        len = snprintf(buf, n, "%s", PROTO_SYSTEM_SOCKET);
    else if (xdg && *xdg)
        len = snprintf(buf, n, "%s/suitd.sock", xdg);
    else
        len = snprintf(buf, n, "/tmp/suitd-%lu.sock", (unsigned long)euid);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}
