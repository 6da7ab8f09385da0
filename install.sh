#!/usr/bin/env bash
# install.sh — provision t3-dispatch on a host: the unprivileged system user,
# the binary, the root-owned t3-mint wrapper, the sudoers drop-in (validated by
# visudo) and the systemd units. Idempotent; never overwrites an operator's
# config or user map. Everything is checked before anything is changed.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: install.sh [--root DIR] [--binary FILE] [--uninstall] [--help]

Installs (as root):
  /usr/local/bin/t3-dispatch          the dispatcher (built into dist/ first if missing)
  /usr/local/bin/t3-mint              the mint wrapper, the service's only privileged action
  /usr/local/bin/t3-instance          start|stop|status of a person's t3-serve@ unit (on-demand start, idle stop)
  /usr/local/bin/t3-install-version   autoupdate's t3 install: npm as the unprivileged t3-install account
  /usr/local/lib/t3-dispatch/wrapper-lib.sh   the checks the three wrappers share
  /etc/sudoers.d/t3-dispatch          lets user t3-dispatch run exactly t3-mint and t3-instance start|stop|status as root
  /etc/systemd/system/*.service|timer the units, t3-serve@.service (one person's t3 serve) among them
  /etc/t3-serve/dispatch.json, /etc/t3-serve/t3-mint.conf, /etc/t3-serve/t3-instance.conf,
  /etc/t3-serve/t3-install.conf, /etc/t3-serve/t3-dispatch.env, /etc/ttyd-user-map   samples, only where none exists
  /var/backups/t3-state, /var/lib/t3-autoupdate        root's own data (0700)
  /opt/t3                             where t3 versions are installed (root, 0755)
and creates the system users t3-dispatch (no login shell, no home, no password) and
t3-install (no login shell; its home /var/lib/t3-install holds npm's cache).

  --root DIR     install into a staging root (packaging, tests); the system user is not created
  --binary FILE  install this binary instead of dist/t3-dispatch
  --uninstall    remove what install.sh installed; keep config, user map and data
  --help         this text
EOF
}

die() {
  echo "install.sh: error: $*" >&2
  exit 1
}

ROOT=""
BINARY=""
MODE=install
while [ "$#" -gt 0 ]; do
  case $1 in
    --root)
      [ "$#" -ge 2 ] || die "--root needs a directory"
      ROOT=$(realpath -m -- "$2")
      shift 2
      ;;
    --binary)
      [ "$#" -ge 2 ] || die "--binary needs a file"
      BINARY=$2
      shift 2
      ;;
    --uninstall) MODE=uninstall && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown argument: $1" ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ASSETS=$HERE/deploy
SERVICE_USER=t3-dispatch
INSTALL_USER=t3-install
BIN=$ROOT/usr/local/bin/t3-dispatch
MINT=$ROOT/usr/local/bin/t3-mint
INSTANCE=$ROOT/usr/local/bin/t3-instance
LIB_DIR=$ROOT/usr/local/lib/t3-dispatch
INSTALLER=$ROOT/usr/local/bin/t3-install-version
SUDOERS=$ROOT/etc/sudoers.d/t3-dispatch
UNIT_DIR=$ROOT/etc/systemd/system
CONF_DIR=$ROOT/etc/t3-serve
USER_MAP=$ROOT/etc/ttyd-user-map
DOC_DIR=$ROOT/usr/local/share/doc/t3-dispatch
UNITS=$(cd "$ASSETS" && ls -- *.service *.timer 2>/dev/null || true)
changes=0

say() { printf '  %-10s %s\n' "$1" "$2"; }
systemd_running() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }

# Copies SRC to DEST (mode MODE, root:root) unless it is already there, atomically.
put() {
  local src=$1 dest=$2 mode=$3 tmp
  if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c '%a %u %g' "$dest")" = "${mode#0} 0 0" ]; then
    say unchanged "$dest"
    return
  fi
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$(dirname "$dest")/.t3d-install.XXXXXX")
  cp -- "$src" "$tmp" && chmod "$mode" "$tmp" && chown 0:0 "$tmp" && mv -f -- "$tmp" "$dest"
  say installed "$dest"
  changes=$((changes + 1))
}

# Like put, but only when DEST does not exist: the operator's file always wins.
put_once() {
  if [ -e "$2" ]; then say kept "$2 (exists; not overwritten)"; else put "$@"; fi
}

remove() {
  if [ -e "$1" ]; then
    rm -rf -- "$1"
    say removed "$1"
    changes=$((changes + 1))
  fi
}

# The drop-in goes through a temporary file (its name has a dot, so sudo would
# skip it even if it were left behind), is checked by visudo, then moved in.
install_sudoers() {
  local tmp
  if [ -f "$SUDOERS" ] && cmp -s "$ASSETS/sudoers" "$SUDOERS" && [ "$(stat -c '%a %u %g' "$SUDOERS")" = "440 0 0" ]; then
    say unchanged "$SUDOERS"
    return
  fi
  mkdir -p "$(dirname "$SUDOERS")"
  tmp=$(mktemp "$(dirname "$SUDOERS")/.t3-dispatch.XXXXXX")
  cp -- "$ASSETS/sudoers" "$tmp"
  chmod 0440 "$tmp" && chown 0:0 "$tmp"
  if ! visudo -cf "$tmp" >/dev/null; then
    rm -f -- "$tmp"
    die "visudo rejected the sudoers drop-in; nothing installed for sudo"
  fi
  mv -f -- "$tmp" "$SUDOERS"
  say installed "$SUDOERS"
  changes=$((changes + 1))
}

preflight() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (sudo $0 $*)"
  for f in t3-mint t3-instance t3-install-version t3-wrapper-lib.sh sudoers t3-mint.conf t3-instance.conf \
    t3-install.conf ttyd-user-map dispatch.json t3-dispatch.env t3-serve@.service; do
    [ -f "$ASSETS/$f" ] || die "missing $ASSETS/$f: run install.sh from a t3-dispatch checkout"
  done
  [ "$MODE" = uninstall ] && return
  command -v visudo >/dev/null || die "visudo not found: install sudo first (apt-get install sudo)"
  if [ -z "$BINARY" ]; then
    BINARY=$HERE/dist/t3-dispatch
    if [ ! -x "$BINARY" ]; then
      [ -x "$HERE/node_modules/.bin/bun" ] || die "binary missing: $BINARY (run: npm install && npm run build)"
      echo "building $BINARY"
      (cd "$HERE" && node_modules/.bin/bun run build >/dev/null) || die "build failed: $BINARY"
    fi
  fi
  [ -x "$BINARY" ] || die "binary missing or not executable: $BINARY"
  "$BINARY" --version >/dev/null 2>&1 || die "binary does not run: $BINARY"
  for f in t3-mint t3-instance t3-install-version t3-wrapper-lib.sh; do
    sh -n "$ASSETS/$f" || die "$f does not parse"
  done
  # Check the drop-in before touching anything, so a rejection leaves the host as it was.
  local probe
  probe=$(mktemp)
  cp -- "$ASSETS/sudoers" "$probe"
  visudo -cf "$probe" >/dev/null || {
    rm -f -- "$probe"
    die "visudo rejects $ASSETS/sudoers; nothing was changed"
  }
  rm -f -- "$probe"
}

# create_user NAME HOME COMMENT: a locked system account without a login shell.
create_user() {
  local name=$1 home=$2 comment=$3
  if [ -n "$ROOT" ]; then
    say skipped "system user $name (staging root: created on the target host)"
  elif getent passwd "$name" >/dev/null; then
    say unchanged "system user $name"
  else
    local make_home=(--no-create-home)
    [ "$home" = /nonexistent ] || make_home=(--create-home)
    useradd --system --user-group "${make_home[@]}" --home-dir "$home" \
      --shell /usr/sbin/nologin --comment "$comment" "$name"
    passwd --lock "$name" >/dev/null 2>&1 || true
    [ "$home" = /nonexistent ] || chmod 0700 "$home"
    say created "system user $name"
    changes=$((changes + 1))
  fi
}

# private_dir DIR MODE: root-owned, exactly MODE (root's own data, or where t3 versions go).
private_dir() {
  local dir=$1 mode=$2
  if [ -d "$dir" ] && [ ! -L "$dir" ] && [ "$(stat -c '%a %u %g' "$dir")" = "${mode#0} 0 0" ]; then
    say unchanged "$dir"
    return
  fi
  [ -L "$dir" ] && die "$dir is a symbolic link: root's data directories must be real directories"
  mkdir -p -- "$dir" && chown 0:0 -- "$dir" && chmod "$mode" -- "$dir"
  say installed "$dir ($mode)"
  changes=$((changes + 1))
}

install_all() {
  echo "installing t3-dispatch${ROOT:+ into $ROOT}"
  create_user "$SERVICE_USER" /nonexistent "t3-dispatch service"
  create_user "$INSTALL_USER" /var/lib/t3-install "t3-dispatch t3 installs (npm runs as this account)"
  put "$BINARY" "$BIN" 0755
  put "$ASSETS/t3-wrapper-lib.sh" "$LIB_DIR/wrapper-lib.sh" 0644
  put "$ASSETS/t3-mint" "$MINT" 0755
  put "$ASSETS/t3-instance" "$INSTANCE" 0755
  put "$ASSETS/t3-install-version" "$INSTALLER" 0755
  private_dir "$ROOT/var/backups/t3-state" 0700
  private_dir "$ROOT/var/lib/t3-autoupdate" 0700
  private_dir "$ROOT/opt/t3" 0755
  install_sudoers
  for unit in $UNITS; do put "$ASSETS/$unit" "$UNIT_DIR/$unit" 0644; done
  put "$HERE/README.md" "$DOC_DIR/README.md" 0644
  mkdir -p "$CONF_DIR"
  put_once "$ASSETS/dispatch.json" "$CONF_DIR/dispatch.json" 0644
  put_once "$ASSETS/t3-mint.conf" "$CONF_DIR/t3-mint.conf" 0644
  put_once "$ASSETS/t3-instance.conf" "$CONF_DIR/t3-instance.conf" 0644
  put_once "$ASSETS/t3-install.conf" "$CONF_DIR/t3-install.conf" 0644
  put_once "$ASSETS/t3-dispatch.env" "$CONF_DIR/t3-dispatch.env" 0644
  put_once "$ASSETS/ttyd-user-map" "$USER_MAP" 0644
  if [ -z "$ROOT" ]; then
    visudo -c >/dev/null || die "sudo's whole configuration no longer parses; check $SUDOERS"
  fi
  if [ "$changes" -eq 0 ]; then
    echo "nothing to change: t3-dispatch is already installed"
    return
  fi
  systemd_running && systemctl daemon-reload
  echo "done: $changes change(s)."
  echo "next: set the front's token key source in $CONF_DIR/t3-dispatch.env (the service does not start without one),"
  echo "      map users in $USER_MAP and $CONF_DIR/dispatch.json, check with: t3-dispatch check; then:"
  echo "  systemctl enable --now t3-dispatch t3-backup-state.timer t3-autoupdate.timer"
}

uninstall_all() {
  echo "uninstalling t3-dispatch${ROOT:+ from $ROOT} (config, user map and data are kept)"
  if systemd_running; then
    for unit in $UNITS; do systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
    # Every person's instance runs from the template about to go.
    systemctl stop 't3-serve@*.service' >/dev/null 2>&1 || true
  fi
  for unit in $UNITS; do remove "$UNIT_DIR/$unit"; done
  remove "$SUDOERS"
  remove "$MINT"
  remove "$INSTANCE"
  remove "$LIB_DIR"
  remove "$INSTALLER"
  remove "$BIN"
  remove "$DOC_DIR"
  for name in "$SERVICE_USER" "$INSTALL_USER"; do
    if [ -z "$ROOT" ] && getent passwd "$name" >/dev/null; then
      userdel "$name" && say removed "system user $name" && changes=$((changes + 1))
    fi
  done
  if systemd_running; then
    systemctl daemon-reload
    # A unit that failed stays loaded (as not-found, failed) until told to forget it.
    systemctl reset-failed 't3-*' >/dev/null 2>&1 || true
  fi
  if [ "$changes" -eq 0 ]; then echo "nothing to remove"; else echo "done: $changes removal(s)."; fi
}

preflight "$@"
if [ "$MODE" = install ]; then install_all; else uninstall_all; fi
