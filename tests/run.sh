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
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

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
chmod 755 "$T"
DOVE_PID="" ; POSTFIX_CONF="$T/postfix/etc"
cleanup() {
  rc=$?
  if [ -f "$T/postfix/queue/pid/master.pid" ]; then postfix -c "$POSTFIX_CONF" stop >/dev/null 2>&1 || true; fi
  if [ -f "$T/dovecot/run/master.pid" ]; then kill "$(cat "$T/dovecot/run/master.pid")" 2>/dev/null || true; fi
  if [ $rc -ne 0 ]; then
    log "failed (exit $rc); server logs follow"
    tail -n 30 "$T/dovecot/dovecot.log" "$T/postfix/postfix.log" 2>/dev/null >&2 || true
  fi
  sleep 0.5
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

mkdir -p "$T/dovecot/run" "$T/dovecot/state" "$T/dovecot/mail"
chown -R mail:mail "$T/dovecot/mail"
cat >"$T/dovecot/users" <<USERS
support@example.test:{PLAIN}secret::::::
agent@example.test:{PLAIN}secret::::::
USERS
cat >"$T/dovecot/dovecot.conf" <<CONF
instance_name = pdtest-$$
base_dir = $T/dovecot/run
state_dir = $T/dovecot/state
log_path = $T/dovecot/dovecot.log
listen = 127.0.0.1
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = 8
recipient_delimiter = +
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $T/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $T/dovecot/users
  default_fields = uid=mail gid=mail home=$T/dovecot/mail/%Ld/%Ln
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$T/dovecot/mail/catchall allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 10143
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.test
}
CONF
dovecot -c "$T/dovecot/dovecot.conf" </dev/null >"$T/dovecot/stdout" 2>&1

mkdir -p "$POSTFIX_CONF" "$T/postfix/queue"
cat >"$POSTFIX_CONF/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $T/postfix/queue
data_directory = $T/postfix/data
mail_owner = postfix
myhostname = mail.example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
alias_maps =
alias_database =
default_transport = lmtp:unix:$T/dovecot/run/lmtp
relay_transport = \$default_transport
lmtp_destination_recipient_limit = 1
recipient_delimiter = +
smtpd_relay_restrictions = permit_mynetworks, reject
maillog_file = $T/postfix/postfix.log
maillog_file_prefixes = $T
in_flow_delay = 0
smtpd_error_sleep_time = 0
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
CONF
sed -e 's/^smtp[[:space:]]\+inet.*/127.0.0.1:10025 inet n - n - - smtpd/' /etc/postfix/master.cf >"$POSTFIX_CONF/master.cf"
grep -q '^postlog' "$POSTFIX_CONF/master.cf" || echo 'postlog   unix-dgram n  -       n       -       1       postlogd' >>"$POSTFIX_CONF/master.cf"
# Debian chroots services into the queue dir, where Dovecot's LMTP socket cannot be seen.
postconf -c "$POSTFIX_CONF" -F '*/*/chroot = n'
touch -d "@$(( $(date +%s) - 10 ))" "$POSTFIX_CONF/main.cf" "$POSTFIX_CONF/master.cf"
postfix -c "$POSTFIX_CONF" start </dev/null >"$T/postfix.start" 2>&1 || { cat "$T/postfix.start" >&2; exit 1; }

wait_banner() { # host port prefix
  for _ in $(seq 100); do
    # (exec with a redirection of its own would make that redirection permanent)
    if { exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null; then
      if IFS= read -r -t 2 line <&3 && [[ $line == "$3"* ]]; then exec 3>&-; return 0; fi
      exec 3>&-
    fi
    sleep 0.1
  done
  log "no '$3' banner on $1:$2"; return 1
}
wait_banner 127.0.0.1 10143 "* OK"
wait_banner 127.0.0.1 10025 "220"
for _ in $(seq 50); do [ -S "$T/dovecot/run/lmtp" ] && break; sleep 0.1; done

export POSTDESK_TEST_SMTP="127.0.0.1:10025"
export POSTDESK_TEST_IMAP="127.0.0.1:10143"
export POSTDESK_TEST_MAILROOT="$T/dovecot/mail"

# ---- the suite ------------------------------------------------------------------------------
log "pass 1: unit tests and integration tests on SQLite"
POSTDESK_TEST_BACKEND=sqlite cargo test --quiet 2>&1
log "pass 2: integration tests on PostgreSQL"
POSTDESK_TEST_BACKEND=postgres cargo test --quiet --test integration 2>&1
log "all tests passed"
