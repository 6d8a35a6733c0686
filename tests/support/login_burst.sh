#!/usr/bin/env bash
# Bad logins against a real `sheetsight run` on loopback, as the README's security
# figures were measured: 64 at once from 8 client addresses (resident memory before,
# after, and after 12 s without a login), then 400 more, 8 at a time, from 200 addresses
# (how many were checked and how many refused, per second).
#
#   cargo build --release && tests/support/login_burst.sh [target/release/sheetsight]
#
# Needs curl; Linux routes all of 127.0.0.0/8 to the loopback, which gives the clients
# their own addresses.
set -euo pipefail
bin=${1:-target/release/sheetsight}
port=${PORT:-18555}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
printf '[[camera]]\nid = "door"\nsource = "rtsp://127.0.0.1:9/live"\n' > "$dir/shop.toml"
SHEETSIGHT_ADMIN_PASSWORD=burst-admin-password "$bin" run "$dir/shop.toml" --listen "127.0.0.1:$port" 2> "$dir/log" &
pid=$!
sleep 2
rss() { awk '/VmRSS/ { printf "%d MiB", $2 / 1024 }' "/proc/$pid/status"; }
login() { # address, name
    curl -s -o /dev/null -w '%{http_code}\n' --interface "$1" -H 'Content-Type: application/json' \
        -d "{\"name\":\"$2\",\"password\":\"wrong-password-1\"}" "http://127.0.0.1:$port/api/v1/login"
}
echo "resident before: $(rss)"
start=$(date +%s.%N)
for i in $(seq 1 64); do login "127.0.0.$((10 + i % 8))" "nobody$i" & done > "$dir/burst"
wait $(jobs -p | grep -v "^$pid$")
end=$(date +%s.%N)
echo "64 at once: $(sort "$dir/burst" | uniq -c | awk '{printf "%s x %s  ", $1, $2}')in $(echo "$end - $start" | bc) s; resident $(rss)"
sleep 12
echo "resident after 12 s without a login: $(rss)"
export -f login; export port
start=$(date +%s.%N)
seq 1 400 | xargs -P 8 -I{} bash -c 'login "127.0.1.$(({} % 200 + 1))" "nobody{}"' > "$dir/sustained"
end=$(date +%s.%N)
echo "400, 8 at a time: $(sort "$dir/sustained" | uniq -c | awk '{printf "%s x %s  ", $1, $2}')in $(echo "$end - $start" | bc) s; resident $(rss)"
