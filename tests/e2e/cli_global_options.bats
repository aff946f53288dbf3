#!/usr/bin/env bats
# Global options (-q/--quiet, -v/--verbose, --version, --help; umconsole's -t) are accepted
# anywhere on the line in all four tools, and every subcommand's --help lists them.
load helpers
bats_require_minimum_version 1.5.0

# The subcommands a tool's --help lists ("Subcommands:" section, one per line).
subcommands() {
  "$@" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }'
}

@test "umimage: -q and -v after the subcommand and its arguments" {
  cd "$BATS_TEST_TMPDIR"
  run "$UMIMAGE" create a.img --size 8M --busybox -q
  echo "$output"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  # get warns about the device nodes it skips, unless -q comes (anywhere).
  run "$UMIMAGE" get a.img /dev dev1
  [ "$status" -eq 0 ]
  [[ "$output" == *"special file"* ]]
  run "$UMIMAGE" get a.img /dev dev2 --quiet
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run "$UMIMAGE" cow create a.cow --backing a.img -v
  [ "$status" -eq 0 ]
  [[ "$output" == *"created a.cow over a.img"* ]]
  run "$UMIMAGE" info a.img --version
  [ "$status" -eq 0 ]
  [[ "$output" == "umimage "* ]]
}

@test "umconsole, umswitch and umkernel take global options anywhere too" {
  export UML_DIR="$BATS_TEST_TMPDIR/uml"
  run "$UMCONSOLE" list -q
  [ "$status" -eq 0 ]
  run "$UMCONSOLE" list --json -t 2 -v
  [ "$status" -eq 0 ]
  # A missing switch is a failure (1), not a usage error (2).
  run "$UMSWITCH" ctl "$BATS_TEST_TMPDIR/none.ctl" stats -q
  [ "$status" -eq 1 ]
  # Options of the switch daemon itself are not global: an error after ctl.
  run "$UMSWITCH" ctl "$BATS_TEST_TMPDIR/none.ctl" stats --hub
  [ "$status" -eq 2 ]
  [[ "$output" == *"--hub is not an option of 'ctl'"* ]]
  "$UMIMAGE" create "$BATS_TEST_TMPDIR/r.img" --busybox --size 32M -q
  run "$UMKERNEL" ubd0="$BATS_TEST_TMPDIR/r.img" init=/bin/sh -q -- -c 'echo hi; exit 4'
  [ "$status" -eq 4 ]
  [ "$output" = hi ]
  run "$UMKERNEL" ubd0="$BATS_TEST_TMPDIR/r.img" --verbose init=/bin/true
  [ "$status" -eq 0 ]
  # After "--" they are init's arguments.
  run "$UMKERNEL" ubd0="$BATS_TEST_TMPDIR/r.img" init=/bin/echo -- -q
  [ "$status" -eq 0 ]
  [[ "$output" == *-q* ]]
  run "$UMKERNEL" --help
  [[ "$output" == *"-q, --quiet"* ]]
  # Unknown options are still usage errors, wherever they are.
  run "$UMIMAGE" info a.img --bogus
  [ "$status" -eq 2 ]
  run "$UMCONSOLE" list --bogus
  [ "$status" -eq 2 ]
}

@test "every subcommand's --help lists the global options" {
  local tool sub n=0
  for tool in "$UMIMAGE" "$UMCONSOLE" "$UMSWITCH"; do
    for sub in $(subcommands "$tool"); do
      run "$tool" "$sub" --help
      [ "$status" -eq 0 ]
      [[ "$output" == *"Global options:"* ]] || { echo "$tool $sub --help: $output"; return 1; }
      [[ "$output" == *"-q,--quiet"* && "$output" == *"-v,--verbose"* ]]
      n=$((n + 1))
    done
  done
  [ "$n" -ge 15 ]  # umimage's many subcommands, umconsole's, umswitch ctl
  run "$UMIMAGE" cow create --help
  [[ "$output" == *"Global options:"* ]]
  run "$UMCONSOLE" exec --help
  [[ "$output" == *"-t,--timeout"* ]]
}
