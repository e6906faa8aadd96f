/*
 * proto_token.c: the shared-token file, read the same way by suitd and by
 * its clients, so a token that one accepts the other accepts too.
 */
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int proto_token_read(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t len = fread(buf, 1, n - 1, f);
    /* A file that fills the buffer exactly is fine; one byte more is not. */
    bool too_long = len == n - 1 && fgetc(f) != EOF;
    int rerr = ferror(f) ? -EIO : 0;
    fclose(f);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                   buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    int rc = rerr ? rerr : too_long ? PROTO_E_TOO_LARGE : len == 0 ? PROTO_E_INVALID_PARAMS : 0;
    if (rc) {
        memset(buf, 0, n);
        return rc;
    }
    return (int)len;
}
