#!/usr/bin/env bash
# The playground test drives a real browser: Debian's chromium, through playwright-core.
# Installs it once when missing; silent when it is already there.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "ensure-chromium: $CHROMIUM is missing and we are not root: install it with 'apt-get install chromium'" >&2; exit 1; }
else
  SUDO=
fi
echo "ensure-chromium: installing Debian's chromium for the playground test (once)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x "$CHROMIUM" ] || { echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2; exit 1; }
