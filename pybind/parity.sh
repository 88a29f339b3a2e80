#!/usr/bin/env bash
# `bazel run //pybind:parity -- replay --traffic FILE ...`: the parity tools
# (python3 -m fraiseql_native.parity) on the package built into this
# target's runfiles, run from the directory bazel was invoked in.
set -euo pipefail
runfiles="${RUNFILES_DIR:-$0.runfiles}"
package_root="$runfiles/fraiseql_native/pybind"
cd "${BUILD_WORKING_DIRECTORY:-.}"
PYTHONPATH="$package_root${PYTHONPATH:+:$PYTHONPATH}" \
  exec /usr/bin/python3 -m fraiseql_native.parity "$@"
