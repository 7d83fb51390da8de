#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seed inputs: the test fixtures and ../shared/corpus for the
# mail pipeline, the shipped and test configs for the config loader, command texts for the
# agent command parser. The corpus directories are not committed; fuzz/regressions/ is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
mkdir -p "$here/corpus/mail_pipeline" "$here/corpus/config" "$here/corpus/agent_commands"
n=0
while IFS= read -r -d '' f; do
    cp "$f" "$here/corpus/mail_pipeline/seed-$n"; n=$((n + 1))
done < <(find "$root/tests/fixtures" "$root/../shared/corpus" -type f \( -name '*.eml' -o -name '*.mbox' \) -print0 2>/dev/null)
for f in "$root"/config/*.toml; do cp "$f" "$here/corpus/config/"; done
# Configs the integration tests write (TOML string literals in tests/integration/*.rs).
python3 - "$root" "$here/corpus/config" <<'PY'
import re, sys, pathlib
root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
i = 0
for f in (root / "tests/integration").glob("*.rs"):
    for m in re.finditer(r'r#"(.*?)"#', f.read_text(), re.S):
        if "[" in m.group(1) and "=" in m.group(1):
            (out / f"test-{i}.toml").write_text(m.group(1)); i += 1
PY
c="$here/corpus/agent_commands"
printf '#status pending\n#assign bob\n\nThanks, we are on it.\n' > "$c/1"
printf '#priority urgent\n#tag +vip -new\n#queue billing\n' > "$c/2"
printf '#note\nCustomer is a reseller.\n\n> quoted\n> #status closed\n' > "$c/3"
printf 'Hello,\n\nOn Mon, 1 Jan 2026, Ann wrote:\n> #assign me\n-- \nsig\n' > "$c/4"
printf '#status resolved\r\n#assign nobody\r\n#bogus x\r\n' > "$c/5"
# winmail.dat blobs: the tnefparse corpus tests/run.sh fetches (real Outlook mail), where it is.
w="$here/corpus/winmail"; mkdir -p "$w"
tnef_dir="${POSTDESK_TEST_TNEF:-${XDG_CACHE_HOME:-$HOME/.cache}/postdesk/tnefparse-1.4.0}/tests/examples"
[ -d "$tnef_dir" ] && cp "$tnef_dir"/*.tnef "$w/"
cp "$here"/regressions/winmail/* "$w/" 2>/dev/null || true
# ... and each of them as the winmail.dat of a mail, for the whole pipeline.
python3 - "$w" "$here/corpus/mail_pipeline" <<'PY'
import base64, pathlib, sys
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for i, f in enumerate(sorted(src.glob("*.tnef"))):
    b64 = base64.encodebytes(f.read_bytes()[:200_000]).decode()
    (out / f"winmail-{i}.eml").write_text(
        "From: a@example.com\r\nTo: support@example.com\r\nSubject: tnef\r\n"
        f"Message-ID: <tnef{i}@example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: application/ms-tnef; name=winmail.dat\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + b64 + "--b--\r\n")
PY
# mbox files (each behind a read-size byte) and 8-bit header mail for the new parsing paths.
mkdir -p "$here/corpus/mbox" "$here/corpus/header_charset"
for f in "$root"/tests/fixtures/parity/*.mbox; do
    { printf '\007'; cat "$f"; } > "$here/corpus/mbox/$(basename "$f")"
done
cp "$root"/tests/fixtures/parity/*.eml "$root"/tests/fixtures/*.eml "$here/corpus/header_charset/"
echo "seeded: $(ls "$here/corpus/mail_pipeline" | wc -l) mails, $(ls "$here/corpus/config" | wc -l) configs, $(ls "$c" | wc -l) command texts, $(ls "$w" | wc -l) winmail.dat blobs, $(ls "$here/corpus/mbox" | wc -l) mboxes, $(ls "$here/corpus/header_charset" | wc -l) header mails"
