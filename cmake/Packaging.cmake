# `make package`: a Debian package of the server (docs/packaging.md), built by CPack's DEB
# generator from the install() rules of CMakeLists.txt plus the files of packaging/: the systemd
# unit, the receive-buffer sysctl drop-in, the default configuration (a conffile), the maintainer
# scripts and the man pages generated from --help.

# The man pages: help2man runs the built programs' --help. Part of `all` when help2man is
# installed (it comes with the test dependencies, scripts/install-deps.sh), so `make test` builds
# what the package test packs; `make package` builds the target `man-pages` by name.
find_program(CSTATSD_HELP2MAN help2man)
set(CSTATSD_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(CSTATSD_MAN_PAGES "")
foreach(program cstatsd cstatsd-loader)
  set(page ${CSTATSD_MAN_DIR}/${program}.1)
  if(program STREQUAL "cstatsd")
    set(what "statsd server compatible with gostatsd")
    set(include --include=${CMAKE_SOURCE_DIR}/packaging/man/cstatsd.h2m)
  else()
    set(what "offers statsd load over UDP (a load generator for cstatsd)")
    set(include "")
  endif()
  if(CSTATSD_HELP2MAN)
    add_custom_command(
      OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CSTATSD_MAN_DIR}
      COMMAND ${CSTATSD_HELP2MAN} --no-info --section=1 --version-string=${PROJECT_VERSION}
              --name=${what} ${include} --output=${page} $<TARGET_FILE:${program}>
      COMMAND gzip -9nf ${page}
      DEPENDS ${program} ${CMAKE_SOURCE_DIR}/packaging/man/cstatsd.h2m
      COMMENT "help2man ${program}"
      VERBATIM)
  else()
    add_custom_command(
      OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E echo "help2man is missing: scripts/install-deps.sh installs it"
      COMMAND false
      VERBATIM)
  endif()
  list(APPEND CSTATSD_MAN_PAGES ${page}.gz)
endforeach()
if(CSTATSD_HELP2MAN)
  add_custom_target(man-pages ALL DEPENDS ${CSTATSD_MAN_PAGES})
else()
  add_custom_target(man-pages DEPENDS ${CSTATSD_MAN_PAGES})
endif()

# What only the package installs (component `deb`, left out of `make install`, whose prefix is
# usually /usr/local): absolute paths, kept as they are by CPACK_SET_DESTDIR.
install(FILES ${CSTATSD_MAN_PAGES} DESTINATION /usr/share/man/man1 COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES packaging/systemd/cstatsd.service packaging/systemd/cstatsd@.service
        DESTINATION /usr/lib/systemd/system COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES packaging/sysctl/60-cstatsd.conf DESTINATION /usr/lib/sysctl.d
        COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES packaging/cstatsd.toml DESTINATION /etc/cstatsd COMPONENT deb EXCLUDE_FROM_ALL)
install(DIRECTORY packaging/grafana DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT deb
        EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cstatsd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "statsd server, a drop-in replacement for gostatsd")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
       "cstatsd receives statsd and DogStatsD metrics over UDP, TCP or HTTP, aggregates them "
       "and sends them to Graphite, InfluxDB, Prometheus, Datadog and other backends. It reads "
       "gostatsd's flags, configuration files and GSD_ environment variables.")
set(CSTATSD_PACKAGE_MAINTAINER "cstatsd maintainers <cstatsd@invalid>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT ${CSTATSD_PACKAGE_MAINTAINER})
# DESTDIR install under the prefix /usr, so the absolute paths above stay where they are.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# The programs' install rules (component Unspecified) and the packaging files (component deb).
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${CMAKE_BINARY_DIR};cstatsd;Unspecified;/" "${CMAKE_BINARY_DIR};cstatsd;deb;/")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the libraries the programs link (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
