# FindCLIPS: Debian's libclips-dev (CLIPS 6.30) ships a static library and
# headers but no pkg-config file or CMake config, so locate them by hand.
#
# Defines CLIPS_FOUND, CLIPS_INCLUDE_DIR, CLIPS_LIBRARY and the imported
# target CLIPS::CLIPS (static library plus libm, which it needs).

find_path(CLIPS_INCLUDE_DIR NAMES clips.h PATH_SUFFIXES clips
          HINTS /usr/include /usr/local/include)
# Prefer the static archive: the shared object has no development symlink.
find_library(CLIPS_LIBRARY NAMES libclips.a clips
             HINTS /usr/lib /usr/local/lib /usr/lib/x86_64-linux-gnu)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CLIPS REQUIRED_VARS CLIPS_LIBRARY CLIPS_INCLUDE_DIR)

if(CLIPS_FOUND AND NOT TARGET CLIPS::CLIPS)
  add_library(CLIPS::CLIPS UNKNOWN IMPORTED)
  set_target_properties(CLIPS::CLIPS PROPERTIES
    IMPORTED_LOCATION "${CLIPS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CLIPS_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES m)
endif()
mark_as_advanced(CLIPS_INCLUDE_DIR CLIPS_LIBRARY)
