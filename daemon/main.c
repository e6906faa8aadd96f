/*
 * suitd: the micro-needling suitability daemon and its rule-author tools.
 * main() only dispatches; each subcommand lives in its own module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "serve.h"
#include "tools.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: suitd [serve] [OPTIONS]        run the daemon (see suitd serve --help)\n"
        "       suitd check [DIR]              load and lint a ruleset\n"
        "       suitd test [--coverage] [DIR]  run a ruleset's test cases\n"
        "       suitd assess [DIR] < patient.json   one assessment, printed as JSON\n"
        "       suitd diff OLD NEW [OPTIONS]   every decision a rule or policy change changes\n"
        "       suitd --version | --help\n"
        "\n"
        "DIR defaults to $SUITD_RULES, else %s.\n"
        "suitd is decision support for licensed professionals; the decision stays\n"
        "with the clinician.\n", proto_default_rules_dir());
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            usage(stdout);
            return 0;
        }
        if (argc >= 2 && !strcmp(argv[1], "--version")) {
            printf("suitd %s (protocol %s)\n", SUITD_VERSION, PROTO_VERSION);
            return 0;
        }
        /* No subcommand: serve, with all arguments as serve options. */
        return serve_main(argc - 1, argv + 1);
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve"))
        return serve_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "check"))
        return tools_check_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "test"))
        return tools_test_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "assess"))
        return tools_assess_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "diff"))
        return tools_diff_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "suitd: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
