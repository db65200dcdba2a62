#!/usr/bin/env bash
# Tests that drive real tools need Debian's packages: chromium (the playground test, through
# playwright-core) and redis-server (the jobs tests start their own on a free loopback port).
#   ensure-debian-package.sh PACKAGE PROGRAM WHY
# Installs PACKAGE once when PROGRAM (a command name or an absolute path) is missing; silent
# when it is there. --no-install-recommends: the program only; the tests start it themselves.
set -euo pipefail
package=$1 program=$2 why=$3
present() { if [[ $program == /* ]]; then [ -x "$program" ]; else command -v "$program" >/dev/null; fi; }
present && exit 0
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "ensure-debian-package: $program is missing and we are not root: install it with 'apt-get install $package'" >&2; exit 1; }
else
  SUDO=
fi
echo "ensure-debian-package: installing Debian's $package for $why (once)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "$package" >/dev/null
present || { echo "ensure-debian-package: apt-get finished but $program is still missing" >&2; exit 1; }
