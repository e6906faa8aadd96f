/*
 * render_stats.c: `suit stats` output.  The Prometheus text comes from
 * proto_prom_stats, the one translation suit-httpd's /metrics uses too.
 */
#include "render_stats.h"

#include <jansson.h>
#include <stdlib.h>

#include "proto_prom.h"

/* ---- readable ------------------------------------------------------- */

static void stats_text_node(FILE *out, const json_t *v, int indent)
{
    const char *key;
    json_t *child;
    json_object_foreach((json_t *)v, key, child) {
        fprintf(out, "%*s%s:", indent, "", key);
        if (json_is_object(child)) {
            if (json_object_size(child) == 0)
                fprintf(out, " none\n");
            else {
                fputc('\n', out);
                stats_text_node(out, child, indent + 2);
            }
            continue;
        }
        if (json_is_array(child)) {
            size_t i;
            json_t *e;
            json_array_foreach(child, i, e) {
                char *s = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
                fprintf(out, "%s%s", i ? ", " : " ", s ? s : "?");
                free(s);
            }
            fputc('\n', out);
            continue;
        }
        if (json_is_string(child))
            fprintf(out, " %s\n", json_string_value(child));
        else if (json_is_integer(child))
            fprintf(out, " %lld\n", (long long)json_integer_value(child));
        else if (json_is_real(child))
            fprintf(out, " %g\n", json_real_value(child));
        else if (json_is_boolean(child))
            fprintf(out, " %s\n", json_is_true(child) ? "yes" : "no");
        else
            fprintf(out, " -\n");
    }
}

void stats_render_text(FILE *out, const json_t *stats)
{
    if (!json_is_object(stats)) {
        char *s = json_dumps(stats, JSON_ENCODE_ANY);
        fprintf(out, "%s\n", s ? s : "?");
        free(s);
        return;
    }
    stats_text_node(out, stats, 0);
}

/* ---- Prometheus ----------------------------------------------------- */

int stats_render_prometheus(FILE *out, const json_t *stats)
{
    struct proto_prom p;
    proto_prom_init(&p);
    int rc = proto_prom_stats(&p, stats);
    if (rc == 0 && p.len && fwrite(p.buf, 1, p.len, out) != p.len)
        rc = -1;
    proto_prom_free(&p);
    return rc;
}
