# Run as init by umkernel.bats: exercises busybox userland under umkernel.
set -e
echo "== files"
mkdir -p /tmp/a/b/c && echo deep > /tmp/a/b/c/f && cat /tmp/a/b/c/f
cp -a /tmp/a /tmp/a2 && ls -R /tmp/a2 | tr '\n' ' ' && echo
mv /tmp/a2 /tmp/a3 && rm -r /tmp/a3 && ls /tmp | tr '\n' ' ' && echo
ln -s /tmp/a/b/c/f /tmp/link && cat /tmp/link && readlink /tmp/link
find /tmp/a -name f
echo "== text"
echo "hello world" | grep -o world
printf 'b\na\nc\na\n' | sort | uniq -c | tr -s ' '
echo "x y z" | awk '{print $2}'
echo abc | sed 's/b/B/'
seq 1 1000 | wc -l
seq 1 10 | head -3 | tail -1
echo "== archives"
cd /tmp && tar cf t.tar a && mkdir x && tar xf t.tar -C x && cat x/a/b/c/f
gzip -c t.tar > t.tar.gz && gunzip -c t.tar.gz | md5sum | cut -d' ' -f1 > m1 && md5sum t.tar | cut -d' ' -f1 > m2 && cmp m1 m2 && echo "gzip round trip ok"
dd if=/dev/zero of=/tmp/z bs=1k count=100 2>/dev/null && wc -c < /tmp/z
echo "== shell"
( echo subshell; exit 0 )
out=$(echo captured) && echo "$out"
echo redirected > /tmp/r && cat < /tmp/r && echo appended >> /tmp/r && wc -l < /tmp/r
sleep 0.2 & p1=$!
sleep 0.1 & p2=$!
wait $p1 $p2 && echo "background jobs waited"
trap 'echo caught USR1' USR1
kill -USR1 $$
sh -c 'exit 7' || echo "child status $?"
sh -c 'kill -TERM $$' || echo "killed status $?"
echo "== persist"
echo "written by the guest" > /persisted.txt
sync
echo "== end"
