/*
 * engine_rand.c: rand() and srand() for the programs that host CLIPS.
 *
 * CLIPS 6.30 draws a random number for every rule activation
 * (AddActivation -> genrand -> rand), whatever the conflict-resolution
 * strategy, for the `random` strategy that rulesets cannot choose (the
 * lint refuses set-strategy, random and seed).  glibc's rand() takes one
 * process-wide lock, so with several serving threads every activation of
 * every thread moves that lock's cache line between cores, and now and
 * then a thread sleeps on it (strace -f -k on suitd at saturation: the
 * serving threads' futex calls all came from genrand <- AddActivation).
 *
 * These definitions take the place of libc's in every program linked
 * with the engine: the static CLIPS library's reference to rand resolves
 * to the program's own definition before the C library's.  The linker
 * only takes this object from the archive if something else in it is
 * needed: eng_rand_keep, which engine creation calls.  A generator per
 * thread (xorshift64*), no lock, nothing shared; the numbers decide
 * nothing a ruleset can see.
 */
#include <stdint.h>
#include <stdlib.h>

#include "engine_internal.h"

#define ENG_RAND_SEED 0x9E3779B97F4A7C15u

static _Thread_local uint64_t eng_rand_state = ENG_RAND_SEED;

int rand(void)
{
    uint64_t x = eng_rand_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    eng_rand_state = x;
    /* The top 31 bits: 0 .. RAND_MAX (2^31 - 1 in glibc). */
    return (int)((x * 0x2545F4914F6CDD1Du) >> 33);
}

void srand(unsigned int seed)
{
    /* Never 0: xorshift would stay at 0 for ever. */
    eng_rand_state = seed ? (uint64_t)seed * ENG_RAND_SEED : ENG_RAND_SEED;
}

void eng_rand_keep(void)
{
}
