/*
 * render_info.h: `suit info` and `suit ping` output, and the vocabulary
 * lists of the `ruleset` result used for "did you mean" suggestions.
 */
#ifndef RENDER_INFO_H
#define RENDER_INFO_H

#include <stddef.h>
#include <stdio.h>

struct json_t;

/* The `ruleset` result as readable text: identity, load time, rule count,
 * policy values (with descriptions), vocabularies. */
void info_render(FILE *out, const struct json_t *ruleset);

/* The `ping` result and the measured round trip. */
void info_render_ping(FILE *out, const struct json_t *ping, double rtt_ms);

/* The public terms of one vocabulary kind ("area", "indication" ...; the
 * plural key is found too), as pointers into `ruleset`, valid while it
 * lives.  Returns the count (0 when absent); *out is malloc'ed (free it),
 * NULL when the count is 0. */
size_t info_vocab_terms(const struct json_t *ruleset, const char *kind, const char ***out);

#endif
