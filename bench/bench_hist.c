/*
 * bench_hist.c: see bench_hist.h.
 */
#include "bench_hist.h"

#include <string.h>

#define SUB (1u << BENCH_HIST_SUB_BITS)

void bench_hist_init(struct bench_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min_ns = UINT64_MAX;
}

static unsigned index_of(uint64_t v)
{
    if (v < SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);     /* e >= SUB_BITS */
    if (e > BENCH_HIST_MAX_EXP)
        return BENCH_HIST_BUCKETS - 1;
    unsigned sub = (unsigned)(v >> (e - BENCH_HIST_SUB_BITS)) & (SUB - 1);
    return ((e - BENCH_HIST_SUB_BITS + 1) << BENCH_HIST_SUB_BITS) + sub;
}

/* Lower bound and width of bucket i. */
static void bucket_range(unsigned i, uint64_t *lo, uint64_t *width)
{
    if (i < SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    unsigned e = (i >> BENCH_HIST_SUB_BITS) + BENCH_HIST_SUB_BITS - 1;
    uint64_t sub = i & (SUB - 1);
    *lo = (SUB + sub) << (e - BENCH_HIST_SUB_BITS);
    *width = (uint64_t)1 << (e - BENCH_HIST_SUB_BITS);
}

void bench_hist_record(struct bench_hist *h, uint64_t ns)
{
    h->buckets[index_of(ns)]++;
    h->count++;
    h->sum_ns += ns;
    if (ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum_ns += src->sum_ns;
    if (src->min_ns < dst->min_ns)
        dst->min_ns = src->min_ns;
    if (src->max_ns > dst->max_ns)
        dst->max_ns = src->max_ns;
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q >= 1.0)
        return h->max_ns;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t lo, width;
            bucket_range(i, &lo, &width);
            uint64_t v = lo + width / 2;
            /* The bucket midpoint may lie outside what was seen. */
            if (v > h->max_ns)
                v = h->max_ns;
            if (v < h->min_ns)
                v = h->min_ns;
            return v;
        }
    }
    return h->max_ns;
}

double bench_hist_mean(const struct bench_hist *h)
{
    return h->count ? (double)h->sum_ns / (double)h->count : 0.0;
}
