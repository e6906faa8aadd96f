# Debian package of suitd, built with CPack's DEB generator:
#
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build-pkg && (cd build-pkg && cpack -G DEB)
#
# packaging/test-package.sh does this with Debian's hardening flags, then
# inspects, installs, runs and purges the package.
#
# The binaries and the ruleset are installed by daemon/ and client/; this file
# adds what only a system installation needs: the unit, the configuration,
# the man pages and the Debian metadata.  Included last from the top-level
# CMakeLists.txt, so it sees every target.

include(GNUInstallDirs)

set(SUITD_PKG_DIR ${CMAKE_SOURCE_DIR}/packaging)
set(SUITD_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${SUITD_PKG_OUT})

# Debian revision of the package; bump it for a packaging-only change.
set(SUITD_DEB_REVISION 1)
set(SUITD_DEB_VERSION "${PROJECT_VERSION}-${SUITD_DEB_REVISION}")

# GNUInstallDirs maps sysconfdir to /etc for the /usr prefix, the one a .deb
# uses.  The unit directory follows Debian 12 (/lib, not /usr/lib).
set(SUITD_CONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/suitd)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(SUITD_UNIT_DIR /lib/systemd/system)
else()
  set(SUITD_UNIT_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()

# Man pages are shipped compressed with gzip -9n (no name, no timestamp) so
# the package is reproducible.  suit.1 comes from the client's author and is
# skipped, with a note, until it exists.
set(SUITD_MAN_PAGES suitd.8 suitd.conf.5 suit.1 suit-httpd.8)
set(_suitd_man_outputs)
foreach(page IN LISTS SUITD_MAN_PAGES)
  if(NOT EXISTS ${SUITD_PKG_DIR}/${page})
    message(STATUS "packaging: ${page} not written yet; the package omits it")
    continue()
  endif()
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  set(out ${SUITD_PKG_OUT}/${page}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND gzip -9n -c ${SUITD_PKG_DIR}/${page} > ${out}
    DEPENDS ${SUITD_PKG_DIR}/${page}
    COMMENT "Compressing man page ${page}"
    VERBATIM)
  list(APPEND _suitd_man_outputs ${out})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

configure_file(${SUITD_PKG_DIR}/changelog.Debian.in
               ${SUITD_PKG_OUT}/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${SUITD_PKG_OUT}/changelog.Debian.gz
  COMMAND gzip -9n -c ${SUITD_PKG_OUT}/changelog.Debian > ${SUITD_PKG_OUT}/changelog.Debian.gz
  DEPENDS ${SUITD_PKG_OUT}/changelog.Debian
  VERBATIM)
add_custom_target(suitd-package-files ALL
  DEPENDS ${_suitd_man_outputs} ${SUITD_PKG_OUT}/changelog.Debian.gz)

# A stripped install (cpack, cmake --install --strip) also drops the compiler
# identification sections, as dh_strip does.  Runs after the daemon's and the
# client's install rules, since this file is included last (CMP0082).
if(CMAKE_OBJCOPY)
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      foreach(f \"${CMAKE_INSTALL_SBINDIR}/suitd\" \"${CMAKE_INSTALL_BINDIR}/suit\"
                \"${CMAKE_INSTALL_SBINDIR}/suit-httpd\")
        set(p \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/\${f}\")
        if(EXISTS \"\${p}\")
          execute_process(COMMAND \"${CMAKE_OBJCOPY}\" --remove-section=.comment
                                  --remove-section=.note \"\${p}\"
                          RESULT_VARIABLE rc)
          if(NOT rc EQUAL 0)
            message(FATAL_ERROR \"objcopy failed on \${p}\")
          endif()
        endif()
      endforeach()
    endif()")
endif()

install(FILES ${SUITD_PKG_DIR}/suitd.service DESTINATION ${SUITD_UNIT_DIR})
install(FILES ${SUITD_PKG_DIR}/suitd.conf ${SUITD_PKG_DIR}/policy.ini
        DESTINATION ${SUITD_CONF_DIR})
# suit-httpd, the HTTP/JSON gateway (http/): its unit and configuration.
install(FILES ${SUITD_PKG_DIR}/suit-httpd.service DESTINATION ${SUITD_UNIT_DIR})
install(FILES ${SUITD_PKG_DIR}/suit-httpd.conf DESTINATION ${SUITD_CONF_DIR})
install(FILES ${SUITD_PKG_DIR}/copyright ${SUITD_PKG_OUT}/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/suitd)
if(EXISTS ${SUITD_PKG_DIR}/lintian-overrides)
  install(FILES ${SUITD_PKG_DIR}/lintian-overrides
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
          RENAME suitd)
endif()

# --- CPack ------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME suitd)
set(CPACK_PACKAGE_VENDOR "The suitd authors")
set(CPACK_PACKAGE_CONTACT
    "Seed 264f1aa3 maintainers <maintainers@users.noreply.r-seed-264f1aa3.example>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "micro-needling suitability expert system (daemon, client, HTTP gateway)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"suitd answers whether a patient is suitable for micro-needling (collagen
induction therapy).  Clinic software sends the patient's facts over
MessagePack-RPC on a Unix socket or TCP and gets back a verdict (suitable,
with precautions, defer until a day, refer to a physician, contraindicated,
or incomplete), each finding with its reason and source, the side effects
that apply, a course plan with a cost range, and aftercare.

The package holds the daemon suitd, with its rule-author tools (check, test,
assess), the command-line client suit, suit-httpd (the HTTP/JSON gateway
to suitd, with health, readiness and Prometheus metrics), the
micro-needling ruleset in CLIPS with its test cases, and hardened systemd
units.

suitd is decision support for licensed professionals; the decision stays
with the clinician.")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${SUITD_DEB_REVISION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Depends: exactly the shared libraries the ELF files use, as computed by
# dpkg-shlibdeps (dpkg-dev).  CLIPS is linked statically and adds nothing.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${SUITD_PKG_DIR}/deb/conffiles
    ${SUITD_PKG_DIR}/deb/postinst
    ${SUITD_PKG_DIR}/deb/prerm
    ${SUITD_PKG_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/")
# Refuses, at cpack time only, a package configured for another prefix: the
# compiled-in ruleset path and /etc would not match where dpkg puts them.
set(CPACK_PROJECT_CONFIG_FILE ${SUITD_PKG_DIR}/cpack-check.cmake)
set(CPACK_SUITD_CONFIGURED_PREFIX "${CMAKE_INSTALL_PREFIX}")
include(CPack)
