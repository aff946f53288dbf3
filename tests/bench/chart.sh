#!/usr/bin/env bash
# Draws a benchmark run (the results file tests/bench/run.sh writes) as an SVG chart: one panel
# per benchmark, native / umkernel / UML side by side, each panel on its own scale and unit.
#   tests/bench/chart.sh [RESULTS.tsv [OUT.svg]]
# Defaults: tests/bench/results/latest.tsv -> the same name with .svg. Needs gnuplot (Debian's
# gnuplot-nox, installed by scripts/deps.sh).
# The results file: '#' comment lines (the first one is the run's description and becomes the
# chart's subtitle), a header line, then one line per benchmark, tab-separated:
#   benchmark unit better native umkernel uml        (better: lower|higher; a missing value: -)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
in=${1:-$here/results/latest.tsv}
out=${2:-${in%.tsv}.svg}
command -v gnuplot >/dev/null || { echo "chart.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -r "$in" ] || { echo "chart.sh: cannot read $in" >&2; exit 1; }

subtitle=$(sed -n '1s/^# *//p' "$in" | tr -d '"')
mapfile -t rows < <(grep -v '^#' "$in" | tail -n +2 | grep -v '^[[:space:]]*$')
[ ${#rows[@]} -gt 0 ] || { echo "chart.sh: no results in $in" >&2; exit 1; }
cols=4
lines=$(( (${#rows[@]} + cols - 1) / cols ))

gp=$(mktemp)
trap 'rm -f "$gp"' EXIT
{
  cat <<EOF
set terminal svg size $((cols * 260)),$((lines * 250 + 60)) dynamic font "sans,11" background rgb "white"
set output "$out"
set multiplot layout $lines,$cols title "um (umkernel) vs User Mode Linux vs native\n{/*0.8 $subtitle}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics scale 0 nomirror
set ytics nomirror
set border 3
set grid ytics lc rgb "#dddddd"
set key off
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
EOF
  for row in "${rows[@]}"; do
    IFS=$'\t' read -r name unit better native um uml <<<"$row"
    # One panel: three bars with their values above them; a missing value has no bar.
    printf 'set title "%s\\n{/*0.8 %s, %s is better}"\n' "${name//_/\\\\_}" "$unit" "$better"
    printf '$d << EOD\n'
    for pair in "native:$native:#8c8c8c" "umkernel:$um:#1f77b4" "UML:$uml:#ff7f0e"; do
      IFS=: read -r label value color <<<"$pair"
      [ "$value" = - ] && value=NaN
      printf '"%s" %s 0x%s\n' "$label" "$value" "${color#\#}"
    done
    printf 'EOD\n'
    printf 'plot $d using 0:2:3:xtic(1) with boxes lc rgb variable, '
    printf '$d using 0:2:(sprintf("%%g", $2)) with labels offset 0,0.7 font ",10"\n'
  done
  echo "unset multiplot"
} >"$gp"
gnuplot "$gp"
echo "chart.sh: wrote $out" >&2
