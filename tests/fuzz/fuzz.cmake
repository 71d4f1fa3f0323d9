# Fuzz targets (tests/fuzz/fuzz_*.c). With PB_FUZZ=ON (clang) each is a
# libFuzzer binary (scripts/fuzz.sh runs them); otherwise each is built as a
# replay binary that ctest runs over its corpus, tests/fuzz/corpus/<target>/.
file(GLOB PB_FUZZ_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
foreach(src ${PB_FUZZ_SRC})
  get_filename_component(fname ${src} NAME_WE)
  if(PB_FUZZ)
    add_executable(${fname} ${src})
    target_compile_options(${fname} PRIVATE -fsanitize=fuzzer)
    target_link_options(${fname} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${fname} PRIVATE pb_testsupport)
  else()
    add_executable(${fname}_replay ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
    target_link_libraries(${fname}_replay PRIVATE pb_testsupport)
    add_test(NAME ${fname}_replay
      COMMAND ${fname}_replay ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${fname}
              ${CMAKE_SOURCE_DIR}/tests/fuzz/regressions/${fname})
  endif()
endforeach()
