# SPDX-License-Identifier: Apache-2.0
# templates/embed.cmake - turns templates/fields.yml into a C source that
# defines pb_fields_yml[] (NUL-terminated) and pb_fields_yml_len.
# Run as: cmake -DIN=fields.yml -DOUT=fields_yml.c -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR nbytes "${nhex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n" body "${body}")
file(WRITE "${OUT}"
  "/* generated from templates/fields.yml by templates/embed.cmake: do not edit */\n"
  "#include <stddef.h>\n"
  "extern const char pb_fields_yml[];\n"
  "extern const size_t pb_fields_yml_len;\n"
  "const char pb_fields_yml[] = {\n${body}0x00};\n"
  "const size_t pb_fields_yml_len = ${nbytes};\n")
