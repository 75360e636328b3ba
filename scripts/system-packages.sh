#!/usr/bin/env bash
# The Debian packages the test suite runs for real: PostgreSQL and Redis servers behind the
# end-to-end tests, nftables + conntrack for the kernel-mode data plane, Chromium for the
# console tests, HAProxy and wrk for the benchmarks, openssl for test certificates, dig for the DNS tests, a C
# compiler for the userspace data plane's worker (forward.c).
# Installs the missing ones with apt-get when run as root; otherwise names the command.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"  # nft, conntrack for a non-root PATH too

have() { command -v "$1" >/dev/null 2>&1; }
missing=()
have initdb || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
have redis-server || have valkey-server || missing+=(redis-server)
have nft || missing+=(nftables)
have conntrack || missing+=(conntrack)
[ -x /usr/bin/chromium ] || missing+=(chromium)
have haproxy || missing+=(haproxy)
have wrk || missing+=(wrk)
have openssl || missing+=(openssl)
have cc || missing+=(gcc libc6-dev)  # builds the userspace data plane's workers
have unshare || missing+=(util-linux)
have ip || missing+=(iproute2)
have dig || missing+=(bind9-dnsutils)  # the DNS tests ask the embedded server with dig

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "system packages missing: ${missing[*]}" >&2
  echo "install them once, then run make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
