# suit-bench smoke run (issue 6): the tool against a real daemon for 5
# seconds.  It checks that the tool works (exit 0, answers, no errors),
# never a timing: the measurements live in BENCHMARKS.md (bench/run.sh).
add_test(NAME bench_smoke
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/bench/smoke.sh
                 $<TARGET_FILE:suitd> $<TARGET_FILE:suit-bench> ${CMAKE_SOURCE_DIR}/rules)
set_tests_properties(bench_smoke PROPERTIES TIMEOUT 120)

# The daemon and suit-bench --in-process run one request pipeline: every
# case's reply compared byte for byte against a real daemon (issue 11).
add_test(NAME bench_verify
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/bench/verify.sh
                 $<TARGET_FILE:suitd> $<TARGET_FILE:suit-bench> ${CMAKE_SOURCE_DIR}/rules)
set_tests_properties(bench_verify PROPERTIES TIMEOUT 120)

# suit-bench --http against a real suit-httpd (issue 14): the tool works.
add_test(NAME bench_http_smoke
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/bench/http_smoke.sh
                 $<TARGET_FILE:suitd> $<TARGET_FILE:suit-httpd> $<TARGET_FILE:suit-bench>
                 ${CMAKE_SOURCE_DIR}/rules)
set_tests_properties(bench_http_smoke PROPERTIES TIMEOUT 120)
