/*
 * container_of.h: the struct that holds a member, from a pointer to that
 * member (libuv's and Linux's macro).  The one way the daemon gets from an
 * embedded struct workers_job, reload_waiter or libuv handle back to its
 * owner, so no code depends on which member comes first.
 */
#ifndef SUITD_CONTAINER_OF_H
#define SUITD_CONTAINER_OF_H

#include <stddef.h>

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
