#!/usr/bin/env bash
# Debian packages sorabox uses when present, named on the command line: espeak-ng (spoken lines,
# cameo test videos), chromium (the web console's browser tests), iproute2:ip (the two-node Ray test's
# network namespaces; PACKAGE:COMMAND where the command is not named after the package). Each is
# installed only when its command is missing and we may install (root with apt-get); otherwise the
# features that need it say so and the tests that need it skip with a reason.
set -u
missing=()
for spec in "$@"; do
  package=${spec%%:*}
  command -v "${spec#*:}" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: ${missing[*]} not installed (needs root and apt-get); the features that use them are skipped" >&2
  exit 0
fi
echo "installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "warning: could not install ${missing[*]}" >&2
exit 0
