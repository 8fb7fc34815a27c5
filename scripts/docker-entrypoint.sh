#!/bin/sh
# Container entry point. Strata listens on every interface here, so it is safe only with a password:
# - STRATA_PASSWORD (or STRATA_PASSWORD_FILE, a mounted secret) sets the default user's password;
# - without one, protected mode stays on: clients inside the container (the health check) are served, and
#   clients from other hosts get Redis's -DENIED error explaining the options;
# - a mounted config (STRATA_CONFIG, default /etc/strata/strata.conf) can set anything else, ACL users included.
# Further arguments are passed to strata-server as --name value overrides.
set -eu
config="${STRATA_CONFIG:-/etc/strata/strata.conf}"
if [ -n "${STRATA_PASSWORD_FILE:-}" ]; then
    STRATA_PASSWORD="$(cat "$STRATA_PASSWORD_FILE")"
fi
if [ -n "${STRATA_PASSWORD:-}" ]; then
    set -- --requirepass "$STRATA_PASSWORD" "$@"
fi
exec strata-server "$config" --bind 0.0.0.0 --dir /data "$@"
