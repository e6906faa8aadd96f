/* placeholder: being written */
#include "engine_internal.h"
int engine_run_cases(struct ruleset *rs, const char *cases_dir, int coverage, FILE *out, struct proto_error *err) { return -1; }
