# Debian package of suitd, built with CPack's DEB generator:
#
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build-pkg && (cd build-pkg && cpack -G DEB)
#
# packaging/test-package.sh does this with Debian's hardening flags, then
# inspects, installs, runs and purges the package.
#
# The binaries, the ruleset and suit-httpd's consultation page (http/ui,
# as share/suitd/ui: suit-httpd's default ui_dir) are installed by daemon/,
# client/, bench/ and http/;
# this file adds what only a system installation needs: the units, the
# suitd group, the configuration, the man pages, the documentation and the
# Debian metadata.  Included last from the top-level CMakeLists.txt, so it
# sees every target.

include(GNUInstallDirs)

set(SUITD_PKG_DIR ${CMAKE_SOURCE_DIR}/packaging)
set(SUITD_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${SUITD_PKG_OUT})

# Debian revision of the package; bump it for a packaging-only change.
set(SUITD_DEB_REVISION 1)
set(SUITD_DEB_VERSION "${PROJECT_VERSION}-${SUITD_DEB_REVISION}")

# GNUInstallDirs maps sysconfdir to /etc for the /usr prefix, the one a .deb
# uses.  The unit directory follows Debian 12 (/lib, not /usr/lib);
# sysusers.d files live under /usr/lib there.
set(SUITD_CONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/suitd)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(SUITD_UNIT_DIR /lib/systemd/system)
else()
  set(SUITD_UNIT_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(SUITD_SYSUSERS_DIR ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d)
set(SUITD_DOC_DIR ${CMAKE_INSTALL_DATADIR}/doc/suitd)

# Man pages and documentation are shipped compressed with gzip -9n (no name,
# no timestamp) so the package is reproducible.
set(_suitd_gz_outputs)
function(suitd_install_gz src dest)
  get_filename_component(name ${src} NAME)
  string(MAKE_C_IDENTIFIER "${dest}/${name}" id)
  set(out ${SUITD_PKG_OUT}/gz/${id}/${name}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${SUITD_PKG_OUT}/gz/${id}
    COMMAND gzip -9n -c ${src} > ${out}
    DEPENDS ${src}
    COMMENT "Compressing ${name}"
    VERBATIM)
  set(_suitd_gz_outputs ${_suitd_gz_outputs} ${out} PARENT_SCOPE)
  install(FILES ${out} DESTINATION ${dest})
endfunction()

set(SUITD_MAN_PAGES suitd.8 suitd.conf.5 suit.1 suit-bench.1 suit-httpd.8)
foreach(page IN LISTS SUITD_MAN_PAGES)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  suitd_install_gz(${SUITD_PKG_DIR}/${page} ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

# /usr/share/doc/suitd: what an operator, an integrator and a rule author
# read (README.md, SECURITY.md, PROTOCOL.md, CDS-HOOKS.md; rules/ with the guide, the
# engine contract and the clinical reference).  The example patient stays
# uncompressed: suit check -f reads it as it is.
foreach(doc README.md SECURITY.md proto/PROTOCOL.md http/CDS-HOOKS.md)
  suitd_install_gz(${CMAKE_SOURCE_DIR}/${doc} ${SUITD_DOC_DIR})
endforeach()
foreach(doc README.md REFERENCE.md CONTRACT.md)
  suitd_install_gz(${CMAKE_SOURCE_DIR}/rules/${doc} ${SUITD_DOC_DIR}/rules)
endforeach()
install(FILES ${CMAKE_SOURCE_DIR}/examples/patient.json DESTINATION ${SUITD_DOC_DIR}/examples)

configure_file(${SUITD_PKG_DIR}/changelog.Debian.in
               ${SUITD_PKG_OUT}/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${SUITD_PKG_OUT}/changelog.Debian.gz
  COMMAND gzip -9n -c ${SUITD_PKG_OUT}/changelog.Debian > ${SUITD_PKG_OUT}/changelog.Debian.gz
  DEPENDS ${SUITD_PKG_OUT}/changelog.Debian
  VERBATIM)
add_custom_target(suitd-package-files ALL
  DEPENDS ${_suitd_gz_outputs} ${SUITD_PKG_OUT}/changelog.Debian.gz)

# A stripped install (cpack, cmake --install --strip) also drops the compiler
# identification sections, as dh_strip does.  Runs after the daemon's and the
# client's install rules, since this file is included last (CMP0082).
if(CMAKE_OBJCOPY)
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      foreach(f \"${CMAKE_INSTALL_SBINDIR}/suitd\" \"${CMAKE_INSTALL_BINDIR}/suit\"
                \"${CMAKE_INSTALL_BINDIR}/suit-bench\"
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

install(FILES ${SUITD_PKG_DIR}/suitd.service ${SUITD_PKG_DIR}/suitd.socket
        DESTINATION ${SUITD_UNIT_DIR})
install(FILES ${SUITD_PKG_DIR}/suitd.sysusers DESTINATION ${SUITD_SYSUSERS_DIR}
        RENAME suitd.conf)
install(FILES ${SUITD_PKG_DIR}/suitd.conf ${SUITD_PKG_DIR}/policy.ini
        DESTINATION ${SUITD_CONF_DIR})
# suit-httpd, the HTTP/JSON gateway (http/): its unit and configuration.
install(FILES ${SUITD_PKG_DIR}/suit-httpd.service DESTINATION ${SUITD_UNIT_DIR})
install(FILES ${SUITD_PKG_DIR}/suit-httpd.conf DESTINATION ${SUITD_CONF_DIR})
# The decision log's rotation: logrotate renames, SIGUSR1 reopens.
install(FILES ${SUITD_PKG_DIR}/suitd.logrotate
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/logrotate.d RENAME suitd)
# The named policies' folder (suitd.conf: policy_dir), empty but for a
# commented example that suitd does not read (it does not end in .ini).
install(FILES ${SUITD_PKG_DIR}/policies/clinic.ini.example
        DESTINATION ${SUITD_CONF_DIR}/policies)
install(FILES ${SUITD_PKG_DIR}/copyright ${SUITD_PKG_OUT}/changelog.Debian.gz
        DESTINATION ${SUITD_DOC_DIR})
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
assess), the command-line client suit, the load generator suit-bench,
suit-httpd (the HTTP/JSON gateway to suitd, with health, readiness,
Prometheus metrics and a consultation page for browsers), the
micro-needling ruleset in CLIPS with its test cases and its clinical
reference, and hardened systemd units: a socket unit (a Unix socket for the
suitd group, loopback TCP), the service, and the gateway's service.

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
