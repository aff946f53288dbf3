#!/bin/sh
# Counts, most frequent first, ties in alphabetical order.
out=$(printf 'the cat and the dog and the bird\n' | ../bin/wordfreq)
expected='3 the
2 and
1 bird
1 cat
1 dog'
[ "$out" = "$expected" ] || { printf 'got:\n%s\nexpected:\n%s\n' "$out" "$expected"; exit 1; }
