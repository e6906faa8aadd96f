/*
 * test_addr.c: TCP listen addresses and the loopback rule (proto_addr.c),
 * shared by suitd's and suit-httpd's --listen.
 */
#include "proto_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

START_TEST(parse_forms)
{
    static const struct {
        const char *spec;
        int family;          /* 0: refused */
        const char *ip;
        unsigned port;
        bool loopback;
    } cases[] = {
        {"127.0.0.1:7480", AF_INET, "127.0.0.1", 7480, true},
        {"127.9.9.9:1", AF_INET, "127.9.9.9", 1, true},
        {"10.0.0.11:7433", AF_INET, "10.0.0.11", 7433, false},
        {"0.0.0.0:0", AF_INET, "0.0.0.0", 0, false},
        {":8080", AF_INET, "0.0.0.0", 8080, false},
        {"localhost:80", AF_INET, "127.0.0.1", 80, true},
        {"[::1]:7480", AF_INET6, "::1", 7480, true},
        {"[::]:7480", AF_INET6, "::", 7480, false},
        {"[::ffff:127.0.0.1]:9", AF_INET6, "::ffff:127.0.0.1", 9, true},
        {"[fe80::1]:65535", AF_INET6, "fe80::1", 65535, false},
        {"127.0.0.1", 0, NULL, 0, false},
        {"127.0.0.1:", 0, NULL, 0, false},
        {"127.0.0.1:65536", 0, NULL, 0, false},
        {"127.0.0.1:-1", 0, NULL, 0, false},
        {"127.0.0.1:80x", 0, NULL, 0, false},
        {"clinic.example:80", 0, NULL, 0, false},
        {"::1:80", 0, NULL, 0, false},
        {"[::1:80", 0, NULL, 0, false},
        {"[::1]80", 0, NULL, 0, false},
        {"", 0, NULL, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        int rc = proto_addr_parse(cases[i].spec, &ss);
        if (!cases[i].family) {
            ck_assert_msg(rc == -1, "'%s' was accepted", cases[i].spec);
            continue;
        }
        ck_assert_msg(rc == 0, "'%s' was refused", cases[i].spec);
        ck_assert_int_eq(ss.ss_family, cases[i].family);
        char ip[INET6_ADDRSTRLEN];
        unsigned port;
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
            port = ntohs(in->sin_port);
        } else {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            port = ntohs(in6->sin6_port);
        }
        ck_assert_str_eq(ip, cases[i].ip);
        ck_assert_uint_eq(port, cases[i].port);
        ck_assert_msg(proto_addr_is_loopback((struct sockaddr *)&ss) == cases[i].loopback,
                      "'%s': loopback should be %d", cases[i].spec, cases[i].loopback);
    }
    ck_assert_int_eq(proto_addr_parse(NULL, &(struct sockaddr_storage){0}), -1);
    struct sockaddr un = {.sa_family = AF_UNIX};
    ck_assert(!proto_addr_is_loopback(&un));
}
END_TEST

int main(void)
{
    const struct testutil_case cases[] = {{"parse_forms", parse_forms}};
    return testutil_run(testutil_suite("addr", cases, 1, 30, NULL));
}
