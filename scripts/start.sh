#!/bin/sh
# The production start of the compiled server (`npm start`, the Docker image, the Helm chart,
# `npm run bench`): node with the memory settings the app is measured with (docs/benchmark.md).
#   MALLOC_ARENA_MAX=1  one glibc malloc arena for every thread: the 19 MiB an argon2id hash takes on
#     a thread of libuv's pool is reused, instead of each pool thread's own arena keeping its last
#     block (about 80 MiB more after a burst of sign-ins).
#   --max-semi-space-size=2  V8's young generation in 2 MiB semi-spaces instead of 16.
#   --max-old-space-size=96  the old generation is collected rather than grown past 96 MiB.
# Both are defaults: MALLOC_ARENA_MAX or NODE_OPTIONS set by the environment win (the Helm chart's
# values mallocArenaMax, nodeOptions). Arguments: node's, then the script (default dist/src/server.js).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"
export NODE_OPTIONS="${NODE_OPTIONS:---max-semi-space-size=2 --max-old-space-size=96}"
[ $# -gt 0 ] || set -- dist/src/server.js
exec node "$@"
