# push.sh: point one host at a region. Run by SSM Run Command
# (AWS-RunShellScript) as root. The Go side prepends four assignments, each a
# validated or base64-encoded value in single quotes:
#
#   ENV_B64     base64 of the new ext_cloud.env
#   ENV_FILE    absolute path of the env file
#   GENERATION  the failover generation (a non-negative integer)
#   PROGRAMS    supervisord programs to restart, space-separated (empty: all)
#
# SUPERVISORCTL may come from the environment ("supervisorctl -c /etc/x.conf").
#
# Exit codes: 0 applied or already converged, 3 the host has a newer
# generation (stale push refused), 1 anything else.

set -eu
set -f # PROGRAMS may hold group:*; never glob it

SUPERVISORCTL=${SUPERVISORCTL:-supervisorctl}
MARKER="$ENV_FILE.applied"
DIR=$(dirname -- "$ENV_FILE")
TMP=

fail() {
	printf 'push: %s\n' "$*" >&2
	exit 1
}

cleanup() {
	if [ -n "$TMP" ]; then
		rm -f -- "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# generation_of FILE prints the EXT_CLOUD_GENERATION of FILE, or nothing.
generation_of() {
	if [ -f "$1" ]; then
		awk -F= '
			{ key = $1; sub(/^[ \t]*(export[ \t]+)?/, "", key); sub(/[ \t]+$/, "", key) }
			key == "EXT_CLOUD_GENERATION" { v = substr($0, index($0, "=") + 1); gsub(/[ \t\r"\047]/, "", v); g = v }
			END { if (g != "") print g }
		' "$1"
	fi
}

case $GENERATION in
'' | *[!0-9]*) fail "generation '$GENERATION' is not an integer" ;;
esac

[ -d "$DIR" ] || fail "folder $DIR does not exist"

# Two pushes to one host (a tag and an instance ID naming the same host) run
# one after the other; the second then finds the host converged.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$ENV_FILE.lock"
	flock -w 60 9 || fail "another push holds $ENV_FILE.lock"
fi

TMP=$(mktemp "$ENV_FILE.tmp.XXXXXX") || fail "cannot create a temp file in $DIR"
printf '%s' "$ENV_B64" | base64 -d >"$TMP" || fail "cannot decode the env file"

OLD=$(generation_of "$ENV_FILE")
case $OLD in
*[!0-9]*) OLD= ;; # unreadable: overwrite, as the host path does
esac
if [ -n "$OLD" ] && [ "$OLD" -gt "$GENERATION" ]; then
	echo "stale: host has generation $OLD, refusing $GENERATION"
	exit 3
fi

if [ -f "$ENV_FILE" ] && cmp -s -- "$TMP" "$ENV_FILE" &&
	[ -f "$MARKER" ] && [ "$(cat -- "$MARKER")" = "$GENERATION" ]; then
	echo "converged: generation $GENERATION already applied"
	exit 0
fi

chmod 0644 "$TMP" || fail "cannot chmod $TMP"
sync "$TMP" 2>/dev/null || sync
mv -f -- "$TMP" "$ENV_FILE" || fail "cannot rename $TMP to $ENV_FILE"
TMP=
sync "$DIR" 2>/dev/null || true
echo "wrote $ENV_FILE (generation $GENERATION)"

# An empty PROGRAMS means every program of the supervisord.
TARGETS=${PROGRAMS:-all}
# A program that is not running makes stop fail; start and status decide.
# shellcheck disable=SC2086 # word splitting is wanted, globbing is off
$SUPERVISORCTL stop $TARGETS || echo "push: stop reported an error; starting anyway" >&2
# shellcheck disable=SC2086
$SUPERVISORCTL start $TARGETS || fail "supervisorctl start $TARGETS failed"

# shellcheck disable=SC2086
STATUS=$($SUPERVISORCTL status $TARGETS) || true
printf '%s\n' "$STATUS"
if [ -z "$STATUS" ]; then
	fail "supervisorctl status $TARGETS printed nothing"
fi
NOT_RUNNING=$(printf '%s\n' "$STATUS" | awk '$2 != "RUNNING" { print $1 }')
if [ -n "$NOT_RUNNING" ]; then
	fail "not RUNNING after restart: $NOT_RUNNING"
fi

TMP=$(mktemp "$MARKER.tmp.XXXXXX") || fail "cannot create a temp file in $DIR"
printf '%s\n' "$GENERATION" >"$TMP"
chmod 0644 "$TMP"
mv -f -- "$TMP" "$MARKER" || fail "cannot write $MARKER"
TMP=
echo "applied: generation $GENERATION"
