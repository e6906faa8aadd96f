# Read by cpack (CPACK_PROJECT_CONFIG_FILE) for every generator run.  A .deb
# must be configured with -DCMAKE_INSTALL_PREFIX=/usr: suitd has the ruleset
# path compiled in, and /etc/suitd only maps to /etc for that prefix.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_SUITD_CONFIGURED_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR
    "suitd: the Debian package needs a build configured with "
    "-DCMAKE_INSTALL_PREFIX=/usr (this one has '${CPACK_SUITD_CONFIGURED_PREFIX}'); "
    "see packaging/test-package.sh")
endif()
