#!/usr/bin/env bash
# The jobs tests run a real queue: Debian's redis-server, which each test starts itself on a
# free loopback port without persistence. Installs it once when missing; silent when present.
set -euo pipefail
command -v redis-server >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "ensure-redis: redis-server is missing and we are not root: install it with 'apt-get install redis-server'" >&2; exit 1; }
else
  SUDO=
fi
echo "ensure-redis: installing Debian's redis-server for the jobs tests (once)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# --no-install-recommends: the server binary only; the tests start it, never the system service.
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
command -v redis-server >/dev/null || { echo "ensure-redis: apt-get finished but redis-server is still missing" >&2; exit 1; }
