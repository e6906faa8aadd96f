/*
 * replies.c: every case's packed reply, for byte comparisons of two builds
 * or of two ways of building engines (BENCHMARKS.md 8.1 and 9.5).
 *
 *   suit-replies [--rules DIR] [--policy-dir DIR] [--no-image] > FILE
 *
 * Writes the reply of every case of DIR/tests (the error cases too) three
 * times, forwards, backwards, forwards (state one request leaves cannot
 * hide), through the daemon's request pipeline (bench_inproc_answer); with
 * --policy-dir, then the whole mix again under "default" and each of the
 * folder's named policies alternating, on the same engine.  --no-image
 * builds the engine by parsing the rule text (ruleset_source.no_image):
 * the two outputs must compare equal with cmp.  Not installed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_inproc.h"
#include "bench_mix.h"

static void fail(const char *what, const struct proto_error *err)
{
    fprintf(stderr, "suit-replies: %s: %s\n", what, err->message);
    exit(1);
}

static void answer_all(struct bench_inproc *p, const struct bench_mix *m, int passes)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    for (int pass = 0; pass < passes; pass++)
        for (size_t k = 0; k < m->len; k++) {
            size_t i = pass == 1 ? m->len - 1 - k : k;
            struct proto_error err;
            proto_error_init(&err);
            out.size = 0;
            (void)bench_inproc_answer(p, m->reqs[i].bytes, m->reqs[i].len, &out, &err, NULL);
            proto_error_close(&err);
            fwrite(out.data, 1, out.size, stdout);
        }
    msgpack_sbuffer_destroy(&out);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *dir = "rules", *policy_dir = NULL;
    bool no_image = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rules") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--policy-dir") && i + 1 < argc)
            policy_dir = argv[++i];
        else if (!strcmp(argv[i], "--no-image"))
            no_image = true;
        else {
            fprintf(stderr, "usage: suit-replies [--rules DIR] [--policy-dir DIR] [--no-image]\n");
            return 2;
        }
    }
    struct proto_error err;
    proto_error_init(&err);
    struct bench_inproc p;
    memset(&p, 0, sizeof p);
    struct ruleset_source src = {.dir = dir, .policy_dir = policy_dir, .no_image = no_image};
    if (ruleset_load_source(&src, &p.rs, &err))
        fail("load", &err);
    if (engine_create(p.rs, NULL, &p.eng, &err))
        fail("engine_create", &err);
    struct engine_counters c;
    engine_counters(p.eng, &c);
    if (c.from_image != (no_image ? 0u : 1u)) {
        fprintf(stderr, "suit-replies: engine %s from the image\n", c.from_image ? "built" : "not built");
        return 1;
    }
    if (proto_decoder_create(NULL, &p.dec) < 0)
        return 1;
    struct bench_mix m;
    if (bench_mix_load(&m, "assess", dir, -1, true, &err))
        fail("mix", &err);
    answer_all(&p, &m, 3);
    if (policy_dir) {
        char *names[64];
        size_t n = 0;
        names[n++] = strdup("default");
        DIR *d = opendir(policy_dir);
        for (struct dirent *de; d && (de = readdir(d)) && n < 64;) {
            size_t len = strlen(de->d_name);
            if (de->d_name[0] != '.' && len > 4 && !strcmp(de->d_name + len - 4, ".ini") &&
                strcmp(de->d_name, "default.ini"))
                names[n++] = strndup(de->d_name, len - 4);
        }
        if (d)
            closedir(d);
        qsort(names + 1, n - 1, sizeof *names, name_cmp);
        bench_mix_close(&m);
        if (bench_mix_load(&m, "assess", dir, -1, false, &err) ||
            bench_mix_policies(&m, names, n, &err))
            fail("policy mix", &err);
        answer_all(&p, &m, 1);
        for (size_t i = 0; i < n; i++)
            free(names[i]);
    }
    bench_mix_close(&m);
    bench_inproc_close(&p);
    return 0;
}
