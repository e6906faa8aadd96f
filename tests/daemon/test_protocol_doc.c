/*
 * test_protocol_doc.c: every example result in proto/PROTOCOL.md is copied
 * from a real suitd serving the real ruleset (rules/), and this test fails
 * when the document's text differs from what that daemon answers.
 *
 * Each example in the document is a fenced block right after a marker
 *
 *   <!-- example: NAME -->
 *
 * The test starts the daemon, sends one fixed sequence of requests over a
 * plain Unix socket (so that it sees the exact bytes), renders each answer
 * the way the document shows it and compares.  Only values that differ
 * from run to run are masked (loaded_at, uptime, latencies): they are taken
 * over from the document before comparing.
 *
 * To regenerate the document after a change (of the ruleset, of a reply,
 * of the version):
 *
 *   SUIT_UPDATE_DOCS=1 ctest --test-dir build -R test_daemon_protocol_doc
 *
 * which rewrites the marked blocks of proto/PROTOCOL.md in place.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

static struct daemon d, slow;

static void teardown(void)
{
    daemon_cleanup(&slow);
    daemon_cleanup(&d);
}

/* ---- the document's examples ------------------------------------------ */

struct example {
    char name[64];
    char *text;                 /* what the daemon's answer renders as */
};

static struct example examples[32];
static size_t n_examples;

static void add_example(const char *name, char *text)
{
    ck_assert_uint_lt(n_examples, sizeof examples / sizeof examples[0]);
    snprintf(examples[n_examples].name, sizeof examples[n_examples].name, "%s", name);
    examples[n_examples].text = text;
    n_examples++;
}

/* The fenced block after "<!-- example: NAME -->": *start is its first
 * line, *end its closing fence (so [start, end) is the content with its
 * last newline, empty for an empty block).  false when there is none. */
static bool find_block(const char *doc, const char *name, const char **start, const char **end)
{
    char marker[128];
    snprintf(marker, sizeof marker, "<!-- example: %s -->\n", name);
    const char *m = strstr(doc, marker);
    if (!m)
        return false;
    const char *fence = m + strlen(marker);
    if (strncmp(fence, "```", 3))
        return false;
    const char *body = strchr(fence, '\n');
    if (!body)
        return false;
    body++;
    const char *close = body;
    if (strncmp(body, "```", 3)) {
        close = strstr(body, "\n```");
        if (!close)
            return false;
        close++;
    }
    *start = body;
    *end = close;
    return true;
}

/* The content without its last newline. */
static char *block_text(const char *doc, const char *name)
{
    const char *a, *b;
    if (!find_block(doc, name, &a, &b))
        return NULL;
    return strndup(a, b > a ? (size_t)(b - a) - 1 : 0);
}

/* ---- talking to the daemon over a plain socket --------------------------- */

static int raw_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Sends a packed request and returns the exact bytes of the one response
 * (the daemon answers one request with one frame). */
static void exchange(int fd, const msgpack_sbuffer *req, msgpack_sbuffer *resp)
{
    ck_assert_int_eq(write(fd, req->data, req->size), (ssize_t)req->size);
    msgpack_sbuffer_init(resp);
    struct proto_decoder *dec;
    ck_assert_int_eq(proto_decoder_create(NULL, &dec), 0);
    msgpack_object o;
    for (;;) {
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof buf);
        ck_assert_msg(n > 0, "the daemon closed the connection (%s)", strerror(errno));
        msgpack_sbuffer_write(resp, buf, (size_t)n);
        ck_assert_int_eq(proto_decoder_feed(dec, buf, (size_t)n), 0);
        int rc = proto_decoder_next(dec, &o);
        ck_assert_int_ge(rc, 0);
        if (rc == 1)
            break;
    }
    ck_assert_uint_eq(proto_decoder_buffered(dec), 0);   /* exactly one frame */
    proto_decoder_free(dec);
}

static void pack_request(msgpack_sbuffer *sb, uint32_t msgid, const char *method,
                         rpc_pack_params_fn params, void *arg)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    proto_pack_request_header(&pk, msgid, method);
    params(&pk, arg);
}

static json_t *decode_json(const msgpack_sbuffer *sb)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    ck_assert_int_eq(msgpack_unpack_next(&u, sb->data, sb->size, NULL), MSGPACK_UNPACK_SUCCESS);
    json_t *j = proto_msgpack_to_json(&u.data);
    msgpack_unpacked_destroy(&u);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* ---- rendering ---------------------------------------------------------- */

/* Doubles as people write them (0.1255, not 0.12550000000000000): a value
 * written with at most 15 significant digits prints back unchanged. */
#define DOC_REAL_PRECISION JSON_REAL_PRECISION(15)

/* One value in JSON: objects and arrays above depth `open` get one member
 * a line, deeper ones stay on one line. */
static void render(FILE *out, const json_t *v, int depth, int open)
{
    bool obj = json_is_object(v), arr = json_is_array(v);
    size_t n = obj ? json_object_size(v) : arr ? json_array_size(v) : 0;
    if ((!obj && !arr) || depth >= open || n == 0) {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | DOC_REAL_PRECISION);
        fputs(s, out);
        free(s);
        return;
    }
    fputs(obj ? "{\n" : "[\n", out);
    size_t i = 0;
    const char *key;
    json_t *child;
    if (obj) {
        json_object_foreach((json_t *)v, key, child) {
            json_t *js = json_string(key);
            char *k = json_dumps(js, JSON_ENCODE_ANY);
            fprintf(out, "%*s%s: ", 2 * (depth + 1), "", k);
            free(k);
            json_decref(js);
            render(out, child, depth + 1, open);
            fputs(++i < n ? ",\n" : "\n", out);
        }
    } else {
        json_array_foreach(v, i, child) {
            fprintf(out, "%*s", 2 * (depth + 1), "");
            render(out, child, depth + 1, open);
            fputs(i + 1 < n ? ",\n" : "\n", out);
        }
    }
    fprintf(out, "%*s%s", 2 * depth, "", obj ? "}" : "]");
}

static char *render_text(const json_t *v, int open)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    render(out, v, 0, open);
    fclose(out);
    return text;
}

static char *compact(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER |
                             DOC_REAL_PRECISION);
}

/* Values that differ from run to run, by "a.b" path: the document's value
 * is kept (when the document has the example already). */
static void mask(json_t *real, const char *doc, const char *name, const char *const *paths)
{
    char *old = block_text(doc, name);
    json_t *prev = old ? json_loads(old, 0, NULL) : NULL;
    free(old);
    for (; prev && *paths; paths++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", *paths);
        json_t *r = real, *p = prev;
        char *save = NULL, *k = strtok_r(buf, ".", &save), *next;
        for (; k && (next = strtok_r(NULL, ".", &save)); k = next) {
            r = json_object_get(r, k);
            p = json_object_get(p, k);
        }
        json_t *keep = json_object_get(p, k);
        if (json_is_object(r) && json_object_get(r, k) && keep)
            json_object_set(r, k, keep);
    }
    json_decref(prev);
}

/* Keeps the listed keys of the object at path (in its order), or the
 * first n entries of the array there: the document shows a few. */
static void keep_keys(json_t *root, const char *path, const char *const *keys)
{
    json_t *o = path ? json_object_get(root, path) : root;
    ck_assert_msg(json_is_object(o), "%s is not a map", path);
    json_t *kept = json_object();
    for (; *keys; keys++) {
        json_t *v = json_object_get(o, *keys);
        ck_assert_msg(v != NULL, "%s has no %s", path, *keys);
        json_object_set(kept, *keys, v);
    }
    json_object_clear(o);
    json_object_update(o, kept);
    json_decref(kept);
}

static void keep_first(json_t *arr, size_t n)
{
    ck_assert(json_is_array(arr));
    while (json_array_size(arr) > n)
        json_array_remove(arr, json_array_size(arr) - 1);
}

/* ---- the requests ------------------------------------------------------- */

static void pack_complete_patient(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 1);
    testutil_pack_example_patient(pk, 0);
}

static void pack_bad_age(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 1);
    proto_pack_str(pk, "age");
    msgpack_pack_int(pk, -1);
}

/* Section 4.2's example: the same patient, who stopped isotretinoin 120
 * days ago. */
static void pack_isotretinoin_patient(msgpack_packer *pk, void *arg)
{
    (void)arg;
    msgpack_pack_array(pk, 1);
    testutil_pack_example_patient(pk, 1);
    proto_pack_str(pk, "medications");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 2);
    proto_pack_str(pk, "name");                 proto_pack_str(pk, "isotretinoin");
    proto_pack_str(pk, "days_since_last_dose"); msgpack_pack_uint8(pk, 120);
}

/* The result (or error) of a response frame. */
static json_t *result_of(json_t *frame)
{
    json_t *err = json_array_get(frame, 2), *res = json_array_get(frame, 3);
    ck_assert_msg(json_is_null(err), "the daemon answered an error: %s", compact(err));
    return json_incref(res);
}

/* Sends one request; records the hex and decoded form of the request
 * (req_name) and of the response (resp_name) when they are set, and
 * returns the decoded response frame. */
static json_t *call(int fd, uint32_t msgid, const char *method, rpc_pack_params_fn params,
                    const char *req_name, const char *resp_name)
{
    msgpack_sbuffer req, resp;
    pack_request(&req, msgid, method, params, NULL);
    exchange(fd, &req, &resp);
    char name[64];
    if (req_name) {
        snprintf(name, sizeof name, "%s-hex", req_name);
        add_example(name, testutil_hex(req.data, req.size));
        snprintf(name, sizeof name, "%s-decoded", req_name);
        json_t *j = decode_json(&req);
        add_example(name, compact(j));
        json_decref(j);
    }
    json_t *frame = decode_json(&resp);
    if (resp_name) {
        snprintf(name, sizeof name, "%s-hex", resp_name);
        add_example(name, testutil_hex(resp.data, resp.size));
        snprintf(name, sizeof name, "%s-decoded", resp_name);
        add_example(name, compact(frame));
    }
    msgpack_sbuffer_destroy(&req);
    msgpack_sbuffer_destroy(&resp);
    return frame;
}

/* Sends one request and returns its result (the caller decrefs it). */
static json_t *call_result(int fd, uint32_t msgid, const char *method, rpc_pack_params_fn params)
{
    json_t *frame = call(fd, msgid, method, params, NULL, NULL);
    json_t *r = result_of(frame);
    json_decref(frame);
    return r;
}

/* The whole sequence, on a fresh daemon, so that the counters in the
 * stats example are always the same. */
static void collect(const char *doc, const char *sock)
{
    int fd = raw_connect(sock);

    json_t *f = call(fd, 1, "ping", pack_no_params, "ping-request", "ping-response");
    json_t *r = result_of(f);
    add_example("ping-result", render_text(r, 1));
    json_decref(r);
    json_decref(f);

    json_decref(call(fd, 2, "assess", pack_complete_patient, "assess-request", NULL));
    json_decref(call(fd, 3, "assess", pack_bad_age, NULL, "error-response"));

    msgpack_sbuffer req;
    pack_request(&req, 4, "assess", pack_isotretinoin_patient, NULL);
    json_t *frame = decode_json(&req);
    add_example("assess-params", render_text(json_array_get(frame, 3), 2));
    json_decref(frame);
    msgpack_sbuffer_destroy(&req);
    r = call_result(fd, 4, "assess", pack_isotretinoin_patient);
    add_example("assess-result", render_text(r, 3));
    json_decref(r);

    /* The ruleset's description is long: the document shows a few entries
     * of each part, chosen here. */
    r = call_result(fd, 5, "ruleset", pack_no_params);
    static const char *const masked_rs[] = {"loaded_at", NULL};
    mask(r, doc, "ruleset-result", masked_rs);
    keep_keys(r, "policy", (const char *const[]){"isotretinoin-washout-days",
                                                  "face-max-depth-mm", NULL});
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(r, "vocabularies"), key, v)
        keep_first(v, 3);
    keep_keys(r, "synonyms", (const char *const[]){"accutane", "roaccutane", NULL});
    json_t *terms = json_object_get(r, "terms");
    keep_keys(r, "terms", (const char *const[]){"areas", "medications", NULL});
    keep_first(json_object_get(terms, "areas"), 1);
    json_t *meds = json_object_get(terms, "medications"), *iso = NULL;
    size_t i;
    json_array_foreach(meds, i, v)
        if (!strcmp(json_string_value(json_object_get(v, "name")), "isotretinoin"))
            iso = json_incref(v);
    ck_assert_ptr_nonnull(iso);
    json_array_clear(meds);
    json_array_append_new(meds, iso);
    keep_keys(r, "fields", (const char *const[]){"age", "fitzpatrick", "area", "medications",
                                                 "setting", "needle_depth_mm", NULL});
    keep_keys(r, "policy_details", (const char *const[]){"isotretinoin-washout-days",
                                                          "face-max-depth-mm", NULL});
    keep_keys(r, "sources", (const char *const[]){"LBL", "SPR", "WAL", "clinic", NULL});
    add_example("ruleset-result", render_text(r, 2));
    json_decref(r);

    r = call_result(fd, 6, "reload", pack_no_params);
    add_example("reload-result", render_text(r, 1));
    json_decref(r);

    r = call_result(fd, 7, "stats", pack_no_params);
    static const char *const masked_stats[] = {"uptime_s", "latency_ms.p50", "latency_ms.p90",
                                               "latency_ms.p99", "latency_ms.p99_9", NULL};
    mask(r, doc, "stats-result", masked_stats);
    add_example("stats-result", render_text(r, 1));
    json_decref(r);
    close(fd);
}

/* Section 4.5's timeout error: a reload that outlasts --reload-timeout.
 * The real ruleset reloads in well under a second, so this one is the
 * daemon tests' contract ruleset with cases that run into the rule
 * deadline (about 3 s of them, against a timeout of 1 s). */
static void collect_reload_timeout(void)
{
    daemon_prepare(&slow);
    char rules[600];
    snprintf(rules, sizeof rules, "%s/rules", slow.dir);
    testutil_copy_tree(harness_rules(), rules);
    ck_assert_int_eq(daemon_start(&slow, rules, "--workers", "1", "--listen", "none",
                                  "--reload-timeout", "1", "--rule-deadline", "1500", NULL), 0);
    testutil_write_slow_cases(rules, 2);
    int fd = raw_connect(slow.sock);
    json_t *frame = call(fd, 1, "reload", pack_no_params, NULL, NULL);
    json_t *err = json_array_get(frame, 2);
    ck_assert_msg(json_is_object(err), "the slow reload did not time out");
    add_example("reload-timeout-error", render_text(err, 1));
    json_decref(frame);
    close(fd);
    ck_assert_int_eq(daemon_stop(&slow, SIGTERM, 30), 0);
}

/* ---- the test ----------------------------------------------------------- */

/* Rewrites every example block with what the daemon answered. */
static void update(const char *path, char *doc)
{
    for (size_t i = 0; i < n_examples; i++) {
        const char *a, *b;
        ck_assert_msg(find_block(doc, examples[i].name, &a, &b),
                      "PROTOCOL.md has no block for example %s: add the marker "
                      "<!-- example: %s --> and an empty fenced block", examples[i].name,
                      examples[i].name);
        size_t head = (size_t)(a - doc), tail = strlen(b);
        char *next = malloc(head + strlen(examples[i].text) + 1 + tail + 1);
        memcpy(next, doc, head);
        strcpy(next + head, examples[i].text);
        strcat(next + head, "\n");
        strcat(next + head, b);
        free(doc);
        doc = next;
    }
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(doc, f);
    ck_assert_int_eq(fclose(f), 0);
    free(doc);
    fprintf(stderr, "updated %s\n", path);
}

START_TEST(protocol_examples_are_real_output)
{
    char rules[4096], path[4096];
    harness_source_path(rules, sizeof rules, "rules");
    harness_source_path(path, sizeof path, "proto/PROTOCOL.md");
    char *doc = testutil_slurp(path);
    ck_assert_msg(doc != NULL, "cannot read %s", path);
    ck_assert_int_eq(daemon_start(&d, rules, "--workers", "2", "--listen", "none", NULL), 0);
    collect(doc, d.sock);
    ck_assert_int_eq(daemon_stop(&d, SIGTERM, 30), 0);
    collect_reload_timeout();

    const char *upd = getenv("SUIT_UPDATE_DOCS");
    if (upd && !strcmp(upd, "1")) {
        update(path, doc);
        return;
    }
    int bad = 0;
    for (size_t i = 0; i < n_examples; i++) {
        char *have = block_text(doc, examples[i].name);
        if (!have || strcmp(have, examples[i].text)) {
            fprintf(stderr, "PROTOCOL.md, example %s: the document says\n%s\n"
                    "but the daemon answers\n%s\n\n", examples[i].name,
                    have ? have : "(no such block)", examples[i].text);
            bad++;
        }
        free(have);
    }
    free(doc);
    ck_assert_msg(bad == 0, "%d example(s) of PROTOCOL.md differ from the daemon's output; "
                  "SUIT_UPDATE_DOCS=1 ctest -R test_daemon_protocol_doc rewrites them", bad);
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {
        {"examples", protocol_examples_are_real_output},
    };
    return testutil_run(testutil_suite("protocol_doc", cases, 1, 120, teardown));
}
