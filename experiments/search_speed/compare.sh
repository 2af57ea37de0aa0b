#!/bin/bash
# Side by side on a noisy machine: another build's bench_search (e.g. main's) and this checkout's,
# interleaved, three rounds of the same command, with the load average at each round.
#   git worktree add --detach /tmp/main-ref main && cmake -S /tmp/main-ref -B /tmp/main-ref/build \
#     -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/main-ref/build --target bench_search
#   bash experiments/search_speed/compare.sh /tmp/main-ref [budget]
set -e
ref=$1
budget=${2:-10000}
cd "$(dirname "$0")/../.."
for r in 1 2 3; do
  echo "## round $r, $(date -u '+%F %H:%M:%S UTC'), $(uptime | sed 's/.*\(load average\)/\1/')"
  echo "# $ref ($(git -C "$ref" rev-parse --short HEAD)):"
  "$ref"/build/experiments/bench_search search_spaces/mobilenet_v2_space.json "$budget"
  echo "# this checkout ($(git rev-parse --short HEAD)):"
  build/experiments/bench_search search_spaces/mobilenet_v2_space.json "$budget"
done
echo "# end, $(uptime | sed 's/.*\(load average\)/\1/')"
