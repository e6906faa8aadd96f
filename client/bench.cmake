# suit-bench: the load generator and in-process reference timer (issue 6,
# BENCHMARKS.md).  It links the engine for --in-process, so it is not part
# of the `suit` client, which must not depend on CLIPS.
include(GNUInstallDirs)
add_executable(suit-bench
  bench.c
  bench_hist.c
  bench_mix.c
  bench_load.c
)
target_compile_definitions(suit-bench PRIVATE
  SUITD_DEFAULT_RULES_DIR="${CMAKE_INSTALL_FULL_DATADIR}/suitd/rules")
target_link_libraries(suit-bench PRIVATE suitengine suitproto PkgConfig::JANSSON
                      Threads::Threads)
