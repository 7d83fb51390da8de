#!/usr/bin/env bash
# Private glewlwyd (OAuth2 provider on 127.0.0.1:10480, tests/idp.sh), Dovecot (IMAP on 127.0.0.1:10143, LMTP; passwords, and XOAUTH2/OAUTHBEARER bearer tokens checked against glewlwyd) and Postfix (SMTP on 127.0.0.1:10025; and as
# providers run it, with TLS and SASL AUTH through Dovecot: implicit TLS on 10465, STARTTLS
# required on 10587, relaying only for an authenticated user) for the tests and benchmarks, with all their state in one directory. Accounts support@example.test and
# agent@example.test (password "secret"); mail to any other address lands in a catch-all mailbox.
#   tests/servers.sh start DIR   start both; prints the environment for the tests
#   tests/servers.sh stop DIR    stop both
set -euo pipefail
cmd=${1:-}; T=${2:-}
[ -n "$cmd" ] && [ -n "$T" ] || { echo "usage: tests/servers.sh start|stop DIR" >&2; exit 2; }
POSTFIX_CONF="$T/postfix/etc"
log() { printf 'servers.sh: %s\n' "$*" >&2; }

IDP="$(dirname "$0")/idp.sh"
if [ "$cmd" = stop ]; then
  "$IDP" stop "$T"
  if [ -f "$T/postfix/queue/pid/master.pid" ]; then postfix -c "$POSTFIX_CONF" stop >/dev/null 2>&1 || true; fi
  if [ -f "$T/dovecot/run/master.pid" ]; then
    pid=$(cat "$T/dovecot/run/master.pid")
    # (only while that process is still Dovecot: a stale file's number may be another's now)
    if grep -qa dovecot "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  fi
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: tests/servers.sh start|stop DIR" >&2; exit 2; }

# The ports are fixed: servers an earlier run left behind (a run killed before its clean-up)
# would answer in place of these, with their mail somewhere else. Stop them first.
port_busy() { # port
  if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then exec 3>&-; return 0; fi
  return 1
}
any_busy() { port_busy 10143 || port_busy 10025 || port_busy 10993 || port_busy 10465 || port_busy 10587 || port_busy 10480; }
if any_busy; then
  for old in /tmp/pdt.*; do
    [ -d "$old" ] && [ "$old" != "$T" ] || continue
    [ -f "$old/dovecot/run/master.pid" ] || [ -f "$old/postfix/queue/pid/master.pid" ] || [ -f "$old/glewlwyd/pid" ] || continue
    log "stopping the test servers an earlier run left in $old"
    "$0" stop "$old"
  done
  for _ in $(seq 100); do any_busy || break; sleep 0.1; done
  if any_busy; then
    log "127.0.0.1 port 10143, 10025, 10993, 10465, 10587 or 10480 is taken by a program that is not a test server of ours"
    exit 1
  fi
fi

mkdir -p "$T"
chmod 755 "$T"
# The OAuth2 provider first: Dovecot asks it about every bearer token.
"$IDP" start "$T" >"$T/idp.env"

mkdir -p "$T/dovecot/run" "$T/dovecot/state" "$T/dovecot/mail"
chown -R mail:mail "$T/dovecot/mail"
# A private CA and a certificate for localhost signed by it, for the TLS tests (ca_file).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=postdesk-test-ca \
  -keyout "$T/dovecot/ca.key" -out "$T/dovecot/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
  -keyout "$T/dovecot/key.pem" -out "$T/dovecot/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/dovecot/server.ext"
openssl x509 -req -in "$T/dovecot/server.csr" -CA "$T/dovecot/ca.pem" -CAkey "$T/dovecot/ca.key" \
  -CAcreateserial -days 2 -extfile "$T/dovecot/server.ext" -out "$T/dovecot/cert.pem" 2>/dev/null
chmod 644 "$T/dovecot/key.pem"
cat >"$T/dovecot/users" <<USERS
support@example.test:{PLAIN}secret::::::
agent@example.test:{PLAIN}secret::::::
helpdesk@example.test:{PLAIN}secret::::::
USERS
# Mailboxes that sign in with OAuth2 only (tests/idp.sh's users): a userdb, no password.
printf 'oauth@example.test:::::::\noauth2@example.test:::::::\n' >"$T/dovecot/oauth-users"
# Dovecot validates bearer tokens by asking the provider (RFC 7662 introspection, which also
# sees revocation); glewlwyd's JWTs say typ "at+jwt", which Dovecot 2.3's local validation refuses.
cat >"$T/dovecot/oauth2.conf.ext" <<CONF
introspection_mode = post
introspection_url = http://dovecot:dovecot-secret@127.0.0.1:10480/api/oidc/introspect
username_attribute = username
active_attribute = active
active_value = true
scope = mail
CONF
cat >"$T/dovecot/dovecot.conf" <<CONF
instance_name = pdtest-$$
base_dir = $T/dovecot/run
state_dir = $T/dovecot/state
log_path = $T/dovecot/dovecot.log
listen = 127.0.0.1
protocols = imap lmtp
ssl = yes
ssl_cert = <$T/dovecot/cert.pem
ssl_key = <$T/dovecot/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = 8
recipient_delimiter = +
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $T/dovecot/users
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $T/dovecot/oauth2.conf.ext
}
userdb {
  driver = passwd-file
  args = username_format=%u $T/dovecot/users
  default_fields = uid=mail gid=mail home=$T/dovecot/mail/%Ld/%Ln
}
userdb {
  driver = passwd-file
  args = username_format=%u $T/dovecot/oauth-users
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
    address = 127.0.0.1
    port = 10993
    ssl = yes
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service auth {
  unix_listener auth-postfix {
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
smtpd_recipient_restrictions = check_recipient_access regexp:$POSTFIX_CONF/reject_recipients, permit_mynetworks, reject
transport_maps = regexp:$POSTFIX_CONF/transport
smtpd_reject_unlisted_recipient = no
maillog_file = $T/postfix/postfix.log
maillog_file_prefixes = $T
in_flow_delay = 0
smtpd_error_sleep_time = 0
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 30s
smtpd_tls_cert_file = $T/dovecot/cert.pem
smtpd_tls_key_file = $T/dovecot/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $T/dovecot/run/auth-postfix
CONF
# Mail to rejected@<any domain> is refused for good (5xx), for the delivery-failure tests.
printf '/^rejected@/ REJECT 5.1.1 no such user here\n' >"$POSTFIX_CONF/reject_recipients"
# Mail to bounceme...@<any domain> is accepted, then bounced with a DSN to the sender.
printf '/^bounceme/ error:5.1.1 mailbox unavailable (test)\n' >"$POSTFIX_CONF/transport"
# Mail to lmtp.example.test goes to postdesk's own LMTP listener (the LMTP intake tests).
printf '/@lmtp\\.example\\.test$/ lmtp:inet:127.0.0.1:10024\n' >>"$POSTFIX_CONF/transport"
sed -e 's/^smtp[[:space:]]\+inet.*/127.0.0.1:10025 inet n - n - - smtpd/' /etc/postfix/master.cf >"$POSTFIX_CONF/master.cf"
# Submission as providers run it: AUTH required to relay; 465 implicit TLS, 587 STARTTLS first.
for listener in "10465 -o smtpd_tls_wrappermode=yes" "10587 -o smtpd_tls_security_level=encrypt"; do
  set -- $listener
  printf '127.0.0.1:%s inet n - n - - smtpd\n  %s %s\n  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n' \
    "$1" "$2" "$3" >>"$POSTFIX_CONF/master.cf"
done
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
wait_banner 127.0.0.1 10587 "220"
for _ in $(seq 50); do [ -S "$T/dovecot/run/lmtp" ] && break; sleep 0.1; done

cat "$T/idp.env"
echo "export POSTDESK_TEST_SMTP=127.0.0.1:10025"
echo "export POSTDESK_TEST_IMAP=127.0.0.1:10143"
echo "export POSTDESK_TEST_MAILROOT=$T/dovecot/mail"
echo "export POSTDESK_TEST_DOVECOT_CONF=$T/dovecot/dovecot.conf"
echo "export POSTDESK_TEST_IMAPS=127.0.0.1:10993"
echo "export POSTDESK_TEST_POSTFIX_CONF=$POSTFIX_CONF"
echo "export POSTDESK_TEST_CA=$T/dovecot/ca.pem"
echo "export POSTDESK_TEST_SMTPS=127.0.0.1:10465"
echo "export POSTDESK_TEST_SUBMISSION=127.0.0.1:10587"

