#!/usr/bin/env bash
# Debian packages sorabox uses when present: espeak-ng (spoken lines, cameo test videos) and
# chromium (the web console's browser tests). Installed only when missing and we may install.
set -u
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
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
