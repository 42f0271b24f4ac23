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

# meaning_of FILE prints what FILE points at, as the Go side reads it, in
# either format ("export KEY=VALUE" or "KEY=VALUE") and from the Python
# handler's two lines: "CLOUD REGION GENERATION", the region from
# EXT_CLOUD_REGION or else EXT_REGION, the generation 0 when absent, and a
# fourth word "mixed" when EXT_REGION names another region. Nothing for a
# missing file.
meaning_of() {
	if [ -f "$1" ]; then
		awk '
			{ line = $0; sub(/\r$/, "", line); sub(/^[ \t]+/, "", line) }
			line == "" || line ~ /^#/ { next }
			{
				sub(/^export[ \t]+/, "", line)
				i = index(line, "=")
				if (i == 0) next
				key = substr(line, 1, i - 1); sub(/[ \t]+$/, "", key)
				v = substr(line, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
				if (length(v) >= 2 && (v ~ /^".*"$/ || v ~ /^\047.*\047$/)) v = substr(v, 2, length(v) - 2)
			}
			key == "EXT_CLOUD" { cloud = v }
			key == "EXT_CLOUD_REGION" { region = v; own = 1 }
			key == "EXT_REGION" { app = v }
			key == "EXT_CLOUD_GENERATION" { gen = v }
			END {
				if (!own) region = app
				if (gen == "") gen = 0
				m = cloud " " region " " gen
				if (app != "" && app != region) m = m " mixed"
				print m
			}
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

OLD_MEANING=$(meaning_of "$ENV_FILE")
NEW_MEANING=$(meaning_of "$TMP")
# shellcheck disable=SC2086 # split the three words; globbing is off
OLD=$(set -- $OLD_MEANING && printf '%s' "${3:-}")
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

# The same cloud, region and generation in another form (the other format,
# or the Python handler's two lines): the programs already run with it.
# Rewrite the file in the configured form, restart nothing.
SAME=
if [ -f "$ENV_FILE" ] && ! cmp -s -- "$TMP" "$ENV_FILE" && [ "$OLD_MEANING" = "$NEW_MEANING" ]; then
	SAME=1
fi

chmod 0644 "$TMP" || fail "cannot chmod $TMP"
sync "$TMP" 2>/dev/null || sync
mv -f -- "$TMP" "$ENV_FILE" || fail "cannot rename $TMP to $ENV_FILE"
TMP=
sync "$DIR" 2>/dev/null || true
echo "wrote $ENV_FILE (generation $GENERATION)"

if [ -n "$SAME" ]; then
	echo "unchanged target ($NEW_MEANING): nothing restarted"
else
	if [ -z "$PROGRAMS" ]; then
		# Every program of the supervisord, in its priority order.
		$SUPERVISORCTL stop all || echo "push: stop reported an error; starting anyway" >&2
		$SUPERVISORCTL start all || fail "supervisorctl start all failed"
	else
		# The Python handler's order: stop in reverse order, then start in
		# order, one program at a time (supervisorctl waits for each), so no
		# program starts before all have stopped.
		REVERSED=
		for p in $PROGRAMS; do
			REVERSED="$p $REVERSED"
		done
		for p in $REVERSED; do
			# A program that is not running makes stop fail; start and
			# status decide.
			$SUPERVISORCTL stop "$p" || echo "push: stop $p reported an error; continuing" >&2
		done
		for p in $PROGRAMS; do
			$SUPERVISORCTL start "$p" || fail "supervisorctl start $p failed"
		done
	fi
fi
TARGETS=${PROGRAMS:-all}

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
