# t3-wrapper-lib.sh — what the root-owned wrappers (t3-mint, t3-instance,
# t3-install-version) share. Installed root-owned (0644) as
# /usr/local/lib/t3-dispatch/wrapper-lib.sh and sourced, never run: each
# wrapper checks it is root's before sourcing it, and sets WRAPPER (its name,
# for messages) first. Exit codes are the wrappers' own: 64 usage · 65 invalid
# name · 66 not in the map · 67 refused account · 69 settings unusable.

die() {
  code=$1
  shift
  printf '%s: %s\n' "$WRAPPER" "$*" >&2
  exit "$code"
}

# A file an unprivileged user could change must not steer a root process.
root_owned() {
  [ "$(stat -L -c '%u' "$1")" = 0 ] && case $(stat -L -c '%A' "$1") in ?????w???? | ????????w?) false ;; *) true ;; esac
}

# The file and every directory above it, for the path as given and as resolved
# (npm's bin is a link into lib/node_modules): none may be changed by a non-root account.
root_owned_path() {
  for p in "$1" "$(readlink -f -- "$1")"; do
    while :; do
      root_owned "$p" || return 1
      [ "$p" = / ] && break
      p=$(dirname -- "$p")
    done
  done
}

# check_settings FILE — a settings file that exists must be root's, or the wrapper refuses to run.
check_settings() {
  [ ! -e "$1" ] || root_owned "$1" || die 69 "$1 must be owned by root and not writable by others"
}

# setting FILE KEY DEFAULT — KEY's value in FILE (key=value lines, read, never
# sourced; the last line counts without a newline), or DEFAULT. FILE passed check_settings.
setting() {
  if [ -e "$1" ]; then
    awk -v k="$2" -v d="$3" 'index($0, k "=") == 1 { v = substr($0, length(k) + 2); f = 1 } END { printf "%s", (f ? v : d) }' "$1"
  else
    printf '%s' "$3"
  fi
}

# check_name NAME — an account name and nothing else: no option, no path, no shell.
check_name() {
  case $1 in
    "" | *[!a-z0-9_-]* | [!a-z_]*) die 65 "invalid user name" ;;
  esac
  [ "${#1}" -le 32 ] || die 65 "invalid user name (longer than 32)"
}

# check_mapped MAP NAME — NAME is a target ("<login> <os_user>" lines, # comments) of the root-owned map.
# Fail closed: no map, nothing is mapped.
check_mapped() {
  [ -f "$1" ] || die 66 "user map $1 is missing"
  root_owned "$1" || die 69 "$1 must be owned by root and not writable by others"
  awk -v u="$2" '$1 !~ /^#/ && NF >= 2 && $2 == u { found = 1 } END { exit !found }' "$1" ||
    die 66 "$2 is not a mapped user in $1"
}

# check_person NAME — a person's account: not root, not a system account (uid ≥ UID_MIN), with a home.
# Sets uid, gid and home.
check_person() {
  entry=$(getent passwd "$1") || die 67 "no such account: $1"
  uid=$(printf '%s' "$entry" | cut -d: -f3)
  gid=$(printf '%s' "$entry" | cut -d: -f4)
  home=$(printf '%s' "$entry" | cut -d: -f6)
  uid_min=$(awk '$1 == "UID_MIN" { print $2 }' /etc/login.defs 2>/dev/null)
  [ "$uid" -ne 0 ] || die 67 "refusing root"
  [ "$uid" -ge "${uid_min:-1000}" ] || die 67 "refusing system account $1 (uid $uid)"
  [ -d "$home" ] || die 67 "home of $1 does not exist: $home"
}
