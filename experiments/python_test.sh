#!/usr/bin/env bash
# Runs a Python 3 test script (the toolchain's py_test wants `python`, which
# Debian does not install; python3 is there).
exec python3 "$@"
