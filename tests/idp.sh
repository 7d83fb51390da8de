#!/usr/bin/env bash
# A private OAuth2 provider for the tests: Debian's glewlwyd on 127.0.0.1:10480, with its config,
# SQLite database and log in one directory. Set up through glewlwyd's own admin API:
#   scope "mail"; user oauth@example.test (password "secret", scope mail);
#   client "postdesk" (confidential, secret "postdesk-secret": device code, authorization code
#   with PKCE back to http://127.0.0.1:10481/, refresh token and password grants), client "dovecot" (the resource server, secret "dovecot-secret": it may
#   introspect any token);
#   OIDC plugin "oidc": access tokens live POSTDESK_TEST_OAUTH_TTL seconds (default 10: the tests see them refreshed),
#   refresh tokens rotate at every use (refresh-token-one-use = always), device-flow poll 1 s.
#   tests/idp.sh start DIR   start it; prints the environment for the tests
#   tests/idp.sh stop DIR    stop it
set -euo pipefail
cmd=${1:-}; T=${2:-}
[ -n "$cmd" ] && [ -n "$T" ] || { echo "usage: tests/idp.sh start|stop DIR" >&2; exit 2; }
log() { printf 'idp.sh: %s\n' "$*" >&2; }
PORT=10480
BASE="http://127.0.0.1:$PORT/api"

if [ "$cmd" = stop ]; then
  if [ -f "$T/glewlwyd/pid" ]; then
    pid=$(cat "$T/glewlwyd/pid")
    if grep -qa glewlwyd "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
    rm -f "$T/glewlwyd/pid"
  fi
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: tests/idp.sh start|stop DIR" >&2; exit 2; }

G="$T/glewlwyd"
rm -rf "$G"
mkdir -p "$G/middleware"
sqlite3_init=/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3
python3 - "$G/glewlwyd.db" "$sqlite3_init" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript(open(sys.argv[2]).read())
db.commit()
PY
# (use_secure_connection is left out: any value of it asks for a key and a certificate)
cat >"$G/glewlwyd.conf" <<CONF
port=$PORT
bind_address="127.0.0.1"
external_url="http://127.0.0.1:$PORT"
login_url="login.html"
api_prefix="api"
allow_origin="*"
log_mode="file"
log_level="WARNING"
log_file="$G/glewlwyd.log"
cookie_domain="127.0.0.1"
cookie_secure=0
cookie_same_site="empty"
session_expiration=2419200
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
plugin_api_run_enabled=""
add_x_frame_option_header_deny=true
max_post_size=16778240
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
user_middleware_module_path="$G/middleware"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm = "SHA512"
database =
{
  type = "sqlite3"
  path = "$G/glewlwyd.db"
};
CONF
glewlwyd --config-file="$G/glewlwyd.conf" </dev/null >"$G/stdout" 2>&1 &
echo $! >"$G/pid"
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/config" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/config" || { log "glewlwyd did not start:"; cat "$G/stdout" "$G/glewlwyd.log" >&2 2>/dev/null; exit 1; }

TTL=${POSTDESK_TEST_OAUTH_TTL:-10}
python3 - "$BASE" "$TTL" <<'PY'
import json, sys, urllib.request, http.cookiejar
base, ttl = sys.argv[1], int(sys.argv[2])
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
def call(method, path, body):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        web.open(req).read()
    except urllib.error.HTTPError as e:
        sys.exit(f"idp.sh: {method} {path}: HTTP {e.code} {e.read()[:300]!r}")
call("POST", "/auth/", {"username": "admin", "password": "password"})
call("POST", "/scope/", {"name": "mail", "display_name": "Mail", "description": "IMAP and SMTP",
                         "password_required": True, "password_max_age": 0, "scheme": {}})
call("POST", "/scope/", {"name": "introspect", "display_name": "Introspect",
                         "description": "token introspection", "password_required": False,
                         "password_max_age": 0, "scheme": {}})
for user in ("oauth@example.test", "oauth2@example.test"):
    call("POST", "/user/", {"username": user, "name": user, "password": "secret",
                            "scope": ["mail", "openid"], "enabled": True})
call("POST", "/client/", {"client_id": "postdesk", "name": "postdesk", "confidential": True,
                          "client_secret": "postdesk-secret", "enabled": True, "scope": [],
                          "redirect_uri": ["http://127.0.0.1:10481/"],
                          "authorization_type": ["device_authorization", "code", "refresh_token", "password"],
                          "token_endpoint_auth_method": ["client_secret_basic", "client_secret_post"]})
call("POST", "/client/", {"client_id": "dovecot", "name": "dovecot", "confidential": True,
                          "client_secret": "dovecot-secret", "enabled": True, "scope": [],
                          "redirect_uri": [], "authorization_type": ["client_credentials"],
                          "token_endpoint_auth_method": ["client_secret_basic"]})
call("POST", "/mod/plugin/", {"module": "oidc", "name": "oidc", "display_name": "OIDC",
    "enabled": True, "parameters": {
        "iss": "http://127.0.0.1:10480", "jwt-type": "sha", "jwt-key-size": "256",
        "key": "postdesk-test-signing-key-0123456789",
        "code-duration": 600, "refresh-token-duration": 1209600, "access-token-duration": ttl,
        "allow-non-oidc": True, "auth-type-code-enabled": True, "auth-type-token-enabled": False,
        "auth-type-password-enabled": True, "auth-type-client-enabled": True,
        "auth-type-refresh-enabled": True, "auth-type-device-enabled": True,
        "device-authorization-expiration": 600, "device-authorization-interval": 1,
        "pkce-allowed": True,
        "refresh-token-rolling": True, "refresh-token-one-use": "always",
        "introspection-revocation-allowed": True,
        "introspection-revocation-allow-target-client": True,
        "introspection-revocation-auth-scope": ["introspect"],
        "additional-parameters": [{"user-parameter": "username", "token-parameter": "username"}]}})
PY
echo "export POSTDESK_TEST_OAUTH=$BASE/oidc"
