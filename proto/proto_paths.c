/*
 * proto_paths.c: the default places suitd, suit and suit-bench agree on
 * (see proto.h, "default paths"), and the order in which the clients look
 * for a daemon.  One definition, so the daemon and its clients cannot
 * drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
