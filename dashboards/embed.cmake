# SPDX-License-Identifier: Apache-2.0
# dashboards/embed.cmake - turns dashboards/*.ndjson into a C source that
# defines pb_dash_files[] / pb_dash_nfiles (beat/dashboards.h): one entry per
# file, index-pattern.ndjson first, the others by name.
# Run as: cmake -DDIR=dashboards -DOUT=dashboards_ndjson.c -P embed.cmake
file(GLOB files RELATIVE "${DIR}" "${DIR}/*.ndjson")
list(SORT files)
list(REMOVE_ITEM files "index-pattern.ndjson")
if(EXISTS "${DIR}/index-pattern.ndjson")
  list(INSERT files 0 "index-pattern.ndjson")
endif()
set(out "/* generated from the dashboards/ ndjson files by dashboards/embed.cmake: do not edit */\n")
string(APPEND out "#include <stddef.h>\n#include \"beat/dashboards.h\"\n")
set(table "")
set(i 0)
foreach(f ${files})
  file(READ "${DIR}/${f}" hex HEX)
  string(LENGTH "${hex}" nhex)
  math(EXPR nbytes "${nhex} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" body "${body}")
  string(APPEND out "static const char f${i}[] = {\n${body}0x00};\n")
  string(APPEND table "    {\"${f}\", f${i}, ${nbytes}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND out "const struct pb_dash_file pb_dash_files[] = {\n${table}    {NULL, NULL, 0}};\n")
string(APPEND out "const size_t pb_dash_nfiles = ${i};\n")
file(WRITE "${OUT}" "${out}")
