# procdash's guardian: kills procdash's process groups if procdash itself dies.
#
# Run as `/bin/sh guardian.sh TIMEOUT_CENTISECONDS` by procdash/core/watchdog.py, in a session of its
# own so Ctrl-C at the terminal never reaches it. procdash writes "+PGID START" (START: the group
# leader's start time, field 22 of /proc/PGID/stat) and "-PGID" lines to its stdin. End of file with
# groups still listed means procdash is gone: SIGTERM (and SIGCONT) to each group that is still the
# one registered, wait up to the timeout for them to end, then SIGKILL what is left.
#
# A POSIX shell script on purpose: it lives as long as procdash does, and a shell costs about 1 MB
# where a Python interpreter costs 11. Only builtins run until procdash dies (then `sleep` for the
# waits), and nothing here is specific to dash, bash or busybox sh.

# It must outlive procdash to do its job (`pkill -f procdash` matches it too); it exits on its own.
trap '' INT HUP TERM QUIT

timeout=${1:-500}
case $timeout in '' | *[!0-9]*) timeout=500 ;; esac
groups=' ' # " PGID:START PGID:START ", START "-" when it was not known

forget() { # $1: a pgid; drop its entry, if any
	case $groups in
	*" $1:"*)
		_after=${groups#*" $1:"}
		groups="${groups%%" $1:"*} ${_after#* }"
		;;
	esac
}

leader() { # $1: a pid; sets $state and $started (start time in clock ticks), both "" when it is gone
	state=
	started=
	read -r _stat <"/proc/$1/stat" 2>/dev/null || return 0
	set -f
	# shellcheck disable=SC2086 # split on purpose: the fields after the command's closing ") "
	set -- ${_stat##*) }
	set +f
	state=$1
	started=${20}
}

alive() { # keep in $groups only the groups that are still the ones registered and have a live member
	_left=' '
	_headless=' ' # groups whose leader is gone or a zombie: alive only while another member lives
	for _entry in $groups; do
		kill -0 "-${_entry%%:*}" 2>/dev/null || continue
		leader "${_entry%%:*}"
		# The kernel never reuses a pid while a group of that id has members, so a group whose leader
		# has exited is still the one registered; a leader with another start time means a recycled id.
		if [ -n "$started" ] && [ "${_entry#*:}" != - ] && [ "$started" != "${_entry#*:}" ]; then
			continue
		fi
		if [ -n "$state" ] && [ "$state" != Z ]; then
			_left="$_left$_entry "
		else
			_headless="$_headless$_entry "
		fi
	done
	if [ "$_headless" != ' ' ]; then
		# Zombies nobody has reaped yet answer kill -0 but run nothing: look for a member that runs.
		for _file in /proc/[0-9]*/stat; do
			read -r _stat <"$_file" 2>/dev/null || continue
			set -f
			# shellcheck disable=SC2086 # state ppid pgrp ...
			set -- ${_stat##*) }
			set +f
			[ "$1" = Z ] && continue
			case $_headless in
			*" $3:"*)
				_after=${_headless#*" $3:"}
				_left="$_left$3:${_after%% *} "
				_headless="${_headless%%" $3:"*} ${_after#* }"
				;;
			esac
		done
	fi
	groups=$_left
}

now() { # sets $now to the centiseconds since boot (/proc/uptime is monotonic)
	read -r _up _ </proc/uptime
	now=$((${_up%.*} * 100 + 1${_up#*.} - 100))
}

while IFS= read -r line || [ -n "$line" ]; do
	case $line in
	+*)
		set -f
		# shellcheck disable=SC2086 # "+PGID START": two words
		set -- ${line#+}
		set +f
		case ${1:-x} in *[!0-9]*) continue ;; esac
		start=${2:--}
		case $start in *[!0-9]*) start=- ;; esac
		forget "$1"
		groups="$groups$1:$start "
		;;
	-*)
		pgid=${line#-}
		case ${pgid:-x} in *[!0-9]*) continue ;; esac
		forget "$pgid"
		;;
	esac
	line=
done

alive
for entry in $groups; do
	kill -TERM "-${entry%%:*}" 2>/dev/null
	kill -CONT "-${entry%%:*}" 2>/dev/null
done
now
deadline=$((now + timeout))
while [ "$groups" != ' ' ] && [ "$now" -lt "$deadline" ]; do
	sleep 0.05 2>/dev/null || sleep 1
	alive
	now
done
# Checked once more just before each kill: an id can be recycled within the last sleep.
alive
for entry in $groups; do
	kill -KILL "-${entry%%:*}" 2>/dev/null
done
exit 0
