/*
 * bench_hist.h: a latency histogram for suit-bench.
 *
 * Log-linear buckets in the style of HdrHistogram: 64 linear sub-buckets
 * per power of two of nanoseconds, so every recorded value is kept within
 * 1/64 (1.6%) of its true size, whatever the run length, in a fixed 19 KiB.
 * Storing every sample of a ten-million-request run would cost 80 MB and
 * skew the machine we are measuring.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_MAX_EXP 42      /* 2^42 ns: about 73 minutes */
#define BENCH_HIST_BUCKETS (((BENCH_HIST_MAX_EXP - BENCH_HIST_SUB_BITS) + 2) << BENCH_HIST_SUB_BITS)

struct bench_hist {
    uint64_t count, sum_ns, min_ns, max_ns;
    uint64_t buckets[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t ns);
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* The value at quantile q (0..1) in ns: the midpoint of the bucket holding
 * the ceil(q * count)-th smallest sample (the exact maximum for q = 1). */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);
double bench_hist_mean(const struct bench_hist *h);

#endif
