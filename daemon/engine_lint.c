/* placeholder: being written */
#include "engine_internal.h"
int engine_lint(const char *dir, FILE *out) { (void)dir; (void)out; return -1; }
