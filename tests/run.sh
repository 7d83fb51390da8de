#!/usr/bin/env bash
# The test command (README, .ci/run). Installs what is missing (Debian packages), starts private
# Dovecot (IMAP + LMTP) and Postfix (SMTP) instances on 127.0.0.1 high ports in a temp dir, makes
# sure PostgreSQL answers on 127.0.0.1:5432, runs the whole suite against SQLite and then against
# PostgreSQL, and stops the servers again, also when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf 'run.sh: %s\n' "$*" >&2; }

# ---- packages -------------------------------------------------------------------------------
missing=()
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd dovecot-lmtpd)
[ -x /usr/sbin/postfix ] || missing+=(postfix)
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
command -v mutt >/dev/null || missing+=(mutt)
command -v script >/dev/null || missing+=(bsdutils)
command -v systemd-analyze >/dev/null || missing+=(systemd)   # `systemd-analyze verify` of the unit
/usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null || missing+=(python3-dkim python3-nacl)   # an independent DKIM verifier
command -v tnef >/dev/null || missing+=(tnef)   # an independent winmail.dat reader
command -v glewlwyd >/dev/null || missing+=(glewlwyd)   # the OAuth2 provider (tests/idp.sh)
command -v curl >/dev/null || missing+=(curl)
# Headless Chromium and its WebDriver: the one-click pages are tested in a real browser.
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # glewlwyd's default answer runs a database set-up that fails in its postinst.
  echo "glewlwyd glewlwyd/config_type select No configuration" | debconf-set-selections
  # No package's service is started by the install: the tests start their own, on other ports.
  policy_rc=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy_rc" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy_rc"; chmod +x "$policy_rc"; made_policy=1; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$made_policy" ]; then rm -f "$policy_rc"; fi
fi

# ---- disk ------------------------------------------------------------------------------------
# A full disk shows up as odd failures far from its cause (a mail client stuck at a prompt, a
# deferred delivery): the build and both passes need about 4 GiB.
free_kib=$(df -Pk . | awk 'NR == 2 { print $4 }')
if [ "${free_kib:-0}" -lt $((4 * 1024 * 1024)) ]; then
  log "warning: only $((free_kib / 1024)) MiB free on $(df -P . | awk 'NR == 2 { print $6 }'); the build and the tests need about 4 GiB"
fi

# ---- real winmail.dat blobs ------------------------------------------------------------------
# The test corpus of tnefparse (real Outlook and Exchange mail): its source release from PyPI,
# checked against a pinned hash, unpacked once into a cache outside the repository.
TNEF_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/postdesk/tnefparse-1.4.0"
if [ ! -d "$TNEF_CACHE/tests/examples" ]; then
  log "fetching tnefparse 1.4.0 (winmail.dat test blobs) from PyPI"
  dl=$(mktemp -d)
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --dest "$dl" tnefparse==1.4.0
  echo "bd871432b9afecb478fda2bbd4ab3673de00db4ba5dcc723bbb6c86a76420f95  $dl/tnefparse-1.4.0.tar.gz" \
    | sha256sum --check --quiet
  mkdir -p "$(dirname "$TNEF_CACHE")"
  tar xzf "$dl/tnefparse-1.4.0.tar.gz" -C "$(dirname "$TNEF_CACHE")"
  rm -rf "$dl"
fi
export POSTDESK_TEST_TNEF="$TNEF_CACHE"

# ---- PostgreSQL -----------------------------------------------------------------------------
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL"
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
# A password for TCP logins where the server asks for one (trust servers ignore it).
su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
export POSTDESK_TEST_PG="postgres://postgres:postgres@127.0.0.1:5432/postgres"

# ---- private Dovecot and Postfix ---------------------------------------------------------------
T=$(mktemp -d /tmp/pdt.XXXXXX)   # short: unix socket paths are limited to 107 bytes
cleanup() {
  rc=$?
  tests/servers.sh stop "$T" || true
  # Test databases a test could not drop (it gives up on a DROP after 30 s).
  for db in $(timeout 30 su postgres -c "psql -Atc \"SELECT datname FROM pg_database WHERE datname LIKE 'pd\\_test\\_%'\"" 2>/dev/null); do
    timeout 60 su postgres -c "psql -qc 'DROP DATABASE IF EXISTS $db WITH (FORCE)'" >/dev/null 2>&1 || true
  done
  if [ $rc -ne 0 ]; then
    log "failed (exit $rc); server logs follow"
    tail -n 30 "$T/dovecot/dovecot.log" "$T/postfix/postfix.log" 2>/dev/null >&2 || true
  fi
  sleep 0.5
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
eval "$(tests/servers.sh start "$T")"
export POSTDESK_TEST_STRICT=1   # every server test runs; a missing server variable fails it

# ---- the suite ------------------------------------------------------------------------------
# Each pass is bounded (a whole run takes about 10 minutes with the build): a pass that hangs
# fails with a list of what was running instead of stalling CI until it is killed from outside.
PASS_LIMIT=${POSTDESK_TEST_PASS_LIMIT:-1500}
pass() {
  local done_flag="$T/pass.done" rc=0
  rm -f "$done_flag"
  ( # the watchdog: lists what runs shortly before `timeout` stops the pass
    end=$(($(date +%s) + PASS_LIMIT - 10))
    while [ "$(date +%s)" -lt "$end" ]; do
      sleep 1
      [ ! -e "$done_flag" ] || exit 0
    done
    log "the pass has run for $((PASS_LIMIT - 10)) s; what is running:"
    ps -eo pid,ppid,etimes,args | awk '$4 !~ /^\[/ && $4 !~ /^(ps|awk|sleep)$/' >&2
  ) &
  local watch=$!
  timeout --kill-after=30 "$PASS_LIMIT" "$@" 2>&1 || rc=$?
  touch "$done_flag"
  wait "$watch" || true
  [ $rc -ne 124 ] || log "stopped: the pass did not end within $PASS_LIMIT s"
  return $rc
}
log "pass 1: unit tests and integration tests on SQLite"
POSTDESK_TEST_BACKEND=sqlite pass cargo test --quiet -- --include-ignored
log "pass 2: integration tests on PostgreSQL"
POSTDESK_TEST_BACKEND=postgres pass cargo test --quiet --test integration -- --include-ignored
log "all tests passed"
