#!/usr/bin/env bash
# The main job: install Nubis and run a container from the built-in busybox image, with real isolation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
echo
echo '$ nubis ctr image ls'
nubis ctr image ls
echo
echo '$ nubis ctr run --rm --memory 64m --pids-limit 64 busybox sh -c "hostname; id; ps; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"'
nubis ctr run --rm --memory 64m --pids-limit 64 busybox sh -c 'echo "hello from a Nubis container: $(hostname)"; id; ps'
