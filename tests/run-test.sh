#!/bin/sh
# Runs one test program; FS_TEST_WRAPPER (e.g. "valgrind --error-exitcode=1
# --leak-check=full") is put in front of it when set.
exec ${FS_TEST_WRAPPER:-} "$@"
