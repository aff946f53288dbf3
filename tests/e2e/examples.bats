#!/usr/bin/env bats
# The examples in examples/ run as a user runs them: the make-check Makefile (a project's tests
# inside a throwaway VM, results and exit status collected) and the three-VM network lab.
load helpers
bats_require_minimum_version 1.5.0

EXAMPLES="$BATS_TEST_DIRNAME/../../examples"

@test "examples/make-check: make check runs the project's tests in a VM and collects the results" {
  run make -C "$EXAMPLES/make-check" UM_BIN="$UM_BIN" OUT="$BATS_TEST_TMPDIR/out" check
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/out/status")" = 0 ]
  grep -qx '1..3' "$BATS_TEST_TMPDIR/out/results/report.tap"
  [ "$(grep -c '^ok ' "$BATS_TEST_TMPDIR/out/results/report.tap")" -eq 3 ]
  [ -f "$BATS_TEST_TMPDIR/out/results/counts.log" ]
  # A second run reuses the image (sources unchanged) and boots a fresh COW file.
  local before; before=$(stat -c %Y "$BATS_TEST_TMPDIR/out/base.img")
  run make -C "$EXAMPLES/make-check" UM_BIN="$UM_BIN" OUT="$BATS_TEST_TMPDIR/out" check
  [ "$status" -eq 0 ]
  [ "$(stat -c %Y "$BATS_TEST_TMPDIR/out/base.img")" = "$before" ]
}

@test "examples/make-check: a failing test fails make, and its log comes back" {
  cp -r "$EXAMPLES/make-check/project" "$BATS_TEST_TMPDIR/project"
  sed -i "s/^expected='3 the$/expected='4 the/" "$BATS_TEST_TMPDIR/project/tests/counts.sh"
  run make -C "$EXAMPLES/make-check" UM_BIN="$UM_BIN" OUT="$BATS_TEST_TMPDIR/out" \
    SRC="$BATS_TEST_TMPDIR/project" check
  echo "$output"
  [ "$status" -ne 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/out/status")" = 1 ]
  grep -q '^not ok .* counts$' "$BATS_TEST_TMPDIR/out/results/report.tap"
  grep -q '^got:' "$BATS_TEST_TMPDIR/out/results/counts.log"
  # Another test command, given on the command line.
  run make -C "$EXAMPLES/make-check" UM_BIN="$UM_BIN" OUT="$BATS_TEST_TMPDIR/out" \
    SRC="$BATS_TEST_TMPDIR/project" TEST='cd tests && sh files.sh && echo only-files > $$RESULTS/x' check
  [ "$status" -eq 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/out/results/x")" = only-files ]
}

@test "examples/network-lab: pc1 reaches pc2 through the router (ping and 1 MiB over TCP)" {
  run env UM_BIN="$UM_BIN" LAB_DIR="$BATS_TEST_TMPDIR/lab" timeout 300 "$EXAMPLES/network-lab/lab.sh" run
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"3 packets transmitted, 3 packets received"* ]]
  [[ "$output" == *"lab: ok"* ]]
  # lab.sh stop left nothing running.
  ! ls "$BATS_TEST_TMPDIR/lab/uml"/*/pid 2>/dev/null
}
