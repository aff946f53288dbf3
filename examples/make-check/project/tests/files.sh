#!/bin/sh
# Several files are read as one text; an empty input gives no output.
printf 'a b\n' > /tmp/one
printf 'b c\n' > /tmp/two
out=$(../bin/wordfreq /tmp/one /tmp/two)
[ "$out" = "$(printf '2 b\n1 a\n1 c')" ] || { echo "got: $out"; exit 1; }
[ -z "$(../bin/wordfreq < /dev/null)" ] || { echo "empty input gave output"; exit 1; }
