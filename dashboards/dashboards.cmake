# SPDX-License-Identifier: Apache-2.0
# dashboards/dashboards.cmake - embeds dashboards/*.ndjson in pb_beat
# (beat/dashboards.c), as templates/embed.cmake does for fields.yml.
file(GLOB PB_DASHBOARD_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/dashboards/*.ndjson)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/dashboards_ndjson.c
  COMMAND ${CMAKE_COMMAND} -DDIR=${CMAKE_SOURCE_DIR}/dashboards
          -DOUT=${CMAKE_BINARY_DIR}/dashboards_ndjson.c -P ${CMAKE_SOURCE_DIR}/dashboards/embed.cmake
  DEPENDS ${PB_DASHBOARD_FILES} ${CMAKE_SOURCE_DIR}/dashboards/embed.cmake
  VERBATIM)
target_sources(pb_beat PRIVATE ${CMAKE_BINARY_DIR}/dashboards_ndjson.c)
