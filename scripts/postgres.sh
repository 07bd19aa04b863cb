#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the tests: `start` prints its URL, `stop` removes it.
# Uses Debian's postgresql package (installed by .ci/run when missing).
set -euo pipefail
DIR=${MEET_PG_DIR:-/tmp/meet-postgres}
# A free loopback port unless one is given (another cluster may hold the usual one).
PORT=${MEET_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
case "${1:-}" in
  start)
    if [ ! -f "$DIR/PG_VERSION" ]; then
      mkdir -p "$DIR"; [ "$(id -u)" = 0 ] && chown postgres "$DIR"
      as_pg "$BIN/initdb -D $DIR -U meet --auth=trust -E UTF8 >/dev/null"
    fi
    as_pg "$BIN/pg_ctl -D $DIR -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200' -l $DIR/log -w start >/dev/null"
    echo "postgresql://meet@127.0.0.1:$PORT/meet"
    ;;
  stop)
    as_pg "$BIN/pg_ctl -D $DIR -m fast stop >/dev/null" || true
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
