# Shell helpers shared by test/run, demo/run and bench/run: installing what
# is missing, building, and temporary clusters run by a non-root user.
# Source it; it defines functions and a few variables, nothing else.

RS_ROOT=${RS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PG_CONFIG=${PG_CONFIG:-pg_config}

rs_log() { printf '==> %s\n' "$*" >&2; }

# rs_ensure_packages [LIST]: install the Debian packages of LIST (default
# test/packages; one a line, # comments) that are missing.
rs_ensure_packages() {
	local list=${1:-$RS_ROOT/test/packages} missing=() p
	while read -r p; do
		case "$p" in '' | '#'*) continue ;; esac
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done <"$list"
	[ ${#missing[@]} -eq 0 ] && return 0
	rs_log "installing ${missing[*]}"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null &&
		# Empty on a fresh machine until rs_ensure_packages has installed PostgreSQL.
PG_BINDIR=$($PG_CONFIG --bindir 2>/dev/null) || PG_BINDIR=
}

rs_build_install() {
	local sudo=
	[ "$(id -u)" -eq 0 ] || [ -w "$($PG_CONFIG --pkglibdir)" ] || sudo=sudo
	make -s -C "$RS_ROOT" PG_CONFIG="$PG_CONFIG" &&
		$sudo make -s -C "$RS_ROOT" PG_CONFIG="$PG_CONFIG" install
}

# Empty on a fresh machine until rs_ensure_packages has installed PostgreSQL.
PG_BINDIR=$($PG_CONFIG --bindir 2>/dev/null) || PG_BINDIR=

# PostgreSQL refuses to run as root: when root, run servers and clients as
# the postgres user.
rs_as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PATH="$PG_BINDIR:$PATH" "$@"
	else
		env PATH="$PG_BINDIR:$PATH" "$@"
	fi
}

# A directory the server's user can write.
rs_workdir() {
	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/racing_sched.$1.XXXXXX")
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	chmod 755 "$dir"
	echo "$dir"
}

rs_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Run a command that starts a long-lived process with no file descriptor
# but stdin, stdout and stderr open, so that the process keeps no lock (such
# as a caller's flock) nor pipe of ours.
rs_detached() {
	(
		rs_close_fds
		if declare -F "$1" >/dev/null; then "$@"; else exec "$@"; fi
	)
}

# Close every file descriptor but stdin, stdout and stderr: only in a
# subshell, such as "( rs_close_fds; exec server ... ) &", which stays one
# process whose id $! is the server's.
rs_close_fds() {
	local fd
	for fd in /proc/self/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
	done
	return 0
}

# rs_start_cluster DATADIR PORT DBNAME [postgresql.conf lines...]
rs_start_cluster() {
	local data=$1 port=$2 db=$3
	shift 3
	rs_as_pg initdb -D "$data" -A trust -U postgres --no-sync >"$data.initdb.log" 2>&1 || {
		cat "$data.initdb.log" >&2
		return 1
	}
	{
		echo "port = $port"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$(dirname "$data")'"
		echo "shared_preload_libraries = 'racing_sched'"
		echo "racing_sched.database = '$db'"
		echo "max_worker_processes = 32"
		echo "fsync = off"
		echo "log_line_prefix = '%m [%p] %b '"
		local line
		for line in "$@"; do echo "$line"; done
	} >>"$data/postgresql.conf"
	rs_detached rs_as_pg pg_ctl -D "$data" -l "$data.log" -w -t 60 start >/dev/null || {
		cat "$data.log" >&2
		return 1
	}
	rs_as_pg psql -h "$(dirname "$data")" -p "$port" -U postgres -d postgres -qAtX \
		-c "CREATE DATABASE \"$db\"" >/dev/null
}

# Both stops are no-ops for what is not running, also under set -e.
rs_stop_cluster() {
	if [ -d "$1" ]; then rs_as_pg pg_ctl -D "$1" -m fast -w stop >/dev/null 2>&1 || true; fi
}

# rs_start_tabsim DIR ARGS... -> prints the port; the simulator writes its
# own process id to DIR/tabsim.pid once listening
rs_start_tabsim() {
	local dir=$1
	shift
	rm -f "$dir/tabsim.port" "$dir/tabsim.pid"
	rs_detached python3 "$RS_ROOT/test/tabsim/tabsim.py" --port 0 --port-file "$dir/tabsim.port" \
		--pid-file "$dir/tabsim.pid" "$@" >"$dir/tabsim.log" 2>&1 &
	local launcher=$! i
	for i in $(seq 1 100); do
		[ -s "$dir/tabsim.port" ] && [ -s "$dir/tabsim.pid" ] && { cat "$dir/tabsim.port"; return 0; }
		kill -0 "$launcher" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/tabsim.log" >&2
	return 1
}

rs_stop_tabsim() {
	if [ -f "$1/tabsim.pid" ]; then kill "$(cat "$1/tabsim.pid")" 2>/dev/null || true; fi
}
