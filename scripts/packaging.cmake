# SPDX-License-Identifier: Apache-2.0
# scripts/packaging.cmake - `cmake --install` lays out Packetbeat's paths and
# CPack builds a .deb of them:
#   /usr/share/packetbeat/bin/packetbeat   the binary (path.home)
#   /usr/bin/packetbeat                    wrapper with the service's paths
#   /etc/packetbeat/packetbeat.yml (0600), fields.yml   (path.config)
#   /var/lib/packetbeat (path.data), /var/log/packetbeat (path.logs)
#   /lib/systemd/system/packetbeat.service
#   /usr/share/man/man1/packetbeat.1.gz
# Install with `cmake --install <build>` (DESTDIR= for a staging tree);
# package with `cpack -G DEB` in the build directory.
set(PB_PKG ${CMAKE_SOURCE_DIR}/scripts/package)

install(TARGETS packetbeat RUNTIME DESTINATION /usr/share/packetbeat/bin)
install(PROGRAMS ${PB_PKG}/packetbeat.sh DESTINATION /usr/bin RENAME packetbeat)
install(FILES ${CMAKE_SOURCE_DIR}/packetbeat.yml DESTINATION /etc/packetbeat
        PERMISSIONS OWNER_READ OWNER_WRITE)
if(EXISTS ${CMAKE_SOURCE_DIR}/templates/fields.yml)
  install(FILES ${CMAKE_SOURCE_DIR}/templates/fields.yml DESTINATION /etc/packetbeat
          PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
install(FILES ${PB_PKG}/packetbeat.service DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(DIRECTORY DESTINATION /var/lib/packetbeat
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)
install(DIRECTORY DESTINATION /var/log/packetbeat
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)

# the man page, gzipped as Debian wants it
find_program(PB_GZIP gzip)
if(PB_GZIP)
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packetbeat.1.gz
    COMMAND ${PB_GZIP} -9 -n -c ${CMAKE_SOURCE_DIR}/scripts/packetbeat.1
            > ${CMAKE_BINARY_DIR}/packetbeat.1.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/scripts/packetbeat.1 VERBATIM)
  add_custom_target(packetbeat_man ALL DEPENDS ${CMAKE_BINARY_DIR}/packetbeat.1.gz)
  install(FILES ${CMAKE_BINARY_DIR}/packetbeat.1.gz DESTINATION /usr/share/man/man1)
endif()

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "packetbeat")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "packetbeat-c")
set(CPACK_PACKAGE_CONTACT "packetbeat maintainers <packetbeat@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Packetbeat analyzes network traffic and sends the data to Elasticsearch.")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Packetbeat analyzes network traffic and sends the data to Elasticsearch.\n A drop-in C implementation of Elastic Packetbeat ${PROJECT_VERSION}.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://www.elastic.co/beats/packetbeat")
# runtime libraries (libyaml, jansson, libpsl, ...) from the binary's ELF
# dependencies; libcurl, librdkafka, libpcap and OpenSSL, loaded when first
# used (beat/lazy), named here
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4, librdkafka1, libpcap0.8, libssl3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PB_PKG}/postinst ${PB_PKG}/prerm ${PB_PKG}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# /etc files are conffiles (kept on upgrade and remove)
set(PB_CONFFILES "${CMAKE_BINARY_DIR}/conffiles")
file(WRITE ${PB_CONFFILES} "/etc/packetbeat/packetbeat.yml\n")
if(EXISTS ${CMAKE_SOURCE_DIR}/templates/fields.yml)
  file(APPEND ${PB_CONFFILES} "/etc/packetbeat/fields.yml\n")
endif()
list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PB_CONFFILES})
include(CPack)
