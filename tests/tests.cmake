# Tests beyond the Check suites: the Packetbeat conformance corpus and the
# live tests against real peers on loopback.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME conformance
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/conformance/check.py
          --bin $<TARGET_FILE:packetbeat> -j 2)
set_tests_properties(conformance PROPERTIES TIMEOUT 900)

file(GLOB PB_LIVE_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/live/*.sh)
foreach(t ${PB_LIVE_TESTS})
  get_filename_component(tname ${t} NAME_WE)
  add_test(NAME live_${tname} COMMAND sh ${t} $<TARGET_FILE:packetbeat>)
  set_tests_properties(live_${tname} PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE
    SKIP_RETURN_CODE 77)
endforeach()

# The index template against the corpus: every field our events carry is
# mapped with a type that fits (tests/beat/test_template.py).
add_test(NAME template
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/beat/test_template.py
          --bin $<TARGET_FILE:packetbeat> --src ${CMAKE_SOURCE_DIR} --run-cases -j 2)
set_tests_properties(template PROPERTIES TIMEOUT 300)

# Bounded memory under hostile input (issue 8): tests/bounds/*.sh take the
# packetbeat binary, like the live tests.
file(GLOB PB_BOUNDS_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/bounds/*.sh)
foreach(t ${PB_BOUNDS_TESTS})
  get_filename_component(tname ${t} NAME_WE)
  add_test(NAME bounds_${tname} COMMAND sh ${t} $<TARGET_FILE:packetbeat>)
  set_tests_properties(bounds_${tname} PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
endforeach()

# Tunnelled (VXLAN, GENEVE, GRE, ERSPAN, IP in IP) and reordered copies of
# the conformance pcaps give the originals' events (tests/tunnels/check.py).
add_test(NAME tunnels
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/tunnels/check.py
          --bin $<TARGET_FILE:packetbeat> -j 2)
set_tests_properties(tunnels PROPERTIES TIMEOUT 900)

# The Kibana saved objects of dashboards/ (issue 7): shape, references,
# fields against the template, and the embedded copy in the binary.
add_test(NAME dashboards
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/beat/test_dashboards.py
          --bin $<TARGET_FILE:packetbeat> --src ${CMAKE_SOURCE_DIR})
set_tests_properties(dashboards PROPERTIES TIMEOUT 120)

# Packet workers (issue 9): every conformance pcap (and each once more with
# flows on) gives the same events with packetbeat.interfaces.workers 2 as
# with 1 (tests/workers/check.py).
add_test(NAME workers
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/workers/check.py
          --bin $<TARGET_FILE:packetbeat> -j 2)
set_tests_properties(workers PROPERTIES TIMEOUT 900)

# The profile-feedback build (scripts/pgo-build.sh, what bench/run.sh
# measures) publishes the same events as this build (tests/build/pgo_check.py);
# once per CI run, in the optimised build rather than the sanitizer's.
if(NOT PB_SANITIZE AND NOT PB_FUZZ)
  add_test(NAME pgo_build
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/build/pgo_check.py
            --bin $<TARGET_FILE:packetbeat> --src ${CMAKE_SOURCE_DIR})
  set_tests_properties(pgo_build PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
endif()
