#!/bin/sh
# install.sh — provisioning for t3-dispatch (system user, t3-mint wrapper, sudoers, systemd units).
# Not written yet: it is its own issue (#3). Until then this placeholder refuses to act.
echo "install.sh: not written yet (see issue #3); nothing was changed." >&2
exit 1
