#!/usr/bin/env bash
# Reserve 2 MB hugepages for DPDK through /sys (no mount needed with --in-memory).
# Prints "huge" when at least the wanted pages are there, else "nohuge":
# callers then start EAL with --no-huge and small pools.
want=${1:-512}
f=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
have=$(cat "$f" 2>/dev/null || echo 0)
if [ "$have" -lt "$want" ]; then
  echo "$want" > "$f" 2>/dev/null || true
  have=$(cat "$f" 2>/dev/null || echo 0)
fi
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
if [ "$free" -ge 64 ]; then echo huge; else echo nohuge; fi
