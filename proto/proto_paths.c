/*
 * proto_paths.c: the default places suitd, suit and suit-bench agree on
 * (see proto.h, "default paths"), and the order in which the clients look
 * for a daemon.  One definition, so the daemon and its clients cannot
 * drift apart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
        len = snprintf(buf, n, "/tmp/suitd-%lu/suitd.sock", (unsigned long)euid);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

char *proto_default_socket_dup(void)
{
    char buf[4096];
    if (proto_default_socket(buf, sizeof buf, getenv("XDG_RUNTIME_DIR"), geteuid()) < 0)
        return NULL;
    return strdup(buf);
}

int proto_private_dir(char *buf, size_t n, uid_t euid)
{
    int len = snprintf(buf, n, "/tmp/suitd-%lu", (unsigned long)euid);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

int proto_private_dir_prepare(const char *dir, uid_t euid, char *msg, size_t n)
{
    msg[0] = '\0';
    /* mkdir never follows a symbolic link at `dir` (EEXIST), and umask can
     * only take bits away from 0700. */
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int e = errno;
        snprintf(msg, n, "cannot create %s: %s", dir, strerror(e));
        return -e;
    }
    struct stat st;
    if (lstat(dir, &st) < 0) {
        int e = errno;
        snprintf(msg, n, "cannot examine %s: %s", dir, strerror(e));
        return -e;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, n, "%s is not a directory (a symbolic link or a file another user may "
                 "have put there): remove it, or set XDG_RUNTIME_DIR or --socket", dir);
        return -EPERM;
    }
    if (st.st_uid != euid) {
        snprintf(msg, n, "%s belongs to uid %lu, not to this user (uid %lu): another user may "
                 "be waiting there for patient facts; remove it, or set XDG_RUNTIME_DIR or "
                 "--socket", dir, (unsigned long)st.st_uid, (unsigned long)euid);
        return -EPERM;
    }
    if ((st.st_mode & 077) || (st.st_mode & 0700) != 0700) {
        snprintf(msg, n, "%s has mode %04o; it must be 0700 (chmod 700 %s)", dir,
                 (unsigned)(st.st_mode & 07777), dir);
        return -EPERM;
    }
    return 0;
}

int proto_addr_normalise(const char *s, char *buf, size_t n)
{
    int len;
    if (!strncmp(s, "unix:", 5) || !strncmp(s, "tcp:", 4))
        len = snprintf(buf, n, "%s", s);
    else if (strchr(s, '/') || !strchr(s, ':'))
        len = snprintf(buf, n, "unix:%s", s);
    else
        len = snprintf(buf, n, "tcp:%s", s);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* Appends unless the same address is already listed (root's own daemon
 * is the system one). */
static int addr_add(struct proto_addr_list *l, enum proto_addr_origin origin, const char *fmt,
                    const char *arg)
{
    struct proto_addr_candidate *c = &l->c[l->n];
    int len = snprintf(c->addr, sizeof c->addr, fmt, arg);
    if (len < 0 || (size_t)len >= sizeof c->addr)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->c[i].addr, c->addr))
            return 0;
    c->origin = origin;
    l->n++;
    return 0;
}

int proto_addr_candidates(struct proto_addr_list *l, const char *given, const char *env,
                          const char *xdg, uid_t euid, unsigned flags)
{
    memset(l, 0, sizeof *l);
    if (given && *given)
        return addr_add(l, PROTO_ADDR_GIVEN, "%s", given);
    if (env && *env) {
        if (proto_addr_normalise(env, l->c[0].addr, sizeof l->c[0].addr))
            return -1;
        l->c[0].origin = PROTO_ADDR_ENV;
        l->n = 1;
        return 0;
    }
    if (euid != 0) {
        char own[PROTO_ADDR_LEN - 5];
        if (proto_default_socket(own, sizeof own, xdg, euid) ||
            addr_add(l, PROTO_ADDR_USER, "unix:%s", own))
            return -1;
    }
    if (addr_add(l, PROTO_ADDR_SYSTEM, "unix:%s", PROTO_SYSTEM_SOCKET))
        return -1;
    if (!(flags & PROTO_ADDR_UNIX_ONLY) && addr_add(l, PROTO_ADDR_TCP_DEFAULT, "tcp:%s",
                                                    PROTO_DEFAULT_TCP))
        return -1;
    return 0;
}

const char *proto_addr_origin_name(enum proto_addr_origin o)
{
    switch (o) {
    case PROTO_ADDR_GIVEN:
        return "the command line";
    case PROTO_ADDR_ENV:
        return "SUIT_ADDR";
    case PROTO_ADDR_USER:
        return "your own daemon";
    case PROTO_ADDR_SYSTEM:
        return "the system daemon";
    case PROTO_ADDR_TCP_DEFAULT:
        return "the default TCP address";
    }
    return "?";
}
