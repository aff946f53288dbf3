#!/bin/sh
# Case is folded and punctuation separates words.
out=$(printf 'Hello, hello! HELLO? world.\n' | ../bin/wordfreq)
[ "$out" = "$(printf '3 hello\n1 world')" ] || { echo "got: $out"; exit 1; }
