#!/usr/bin/env bash
# Make sure every program sledhub's code, scripts and tests run is on this machine, and install the
# Debian package of each one that is missing.
#   scripts/ensure-system.sh demo   -> what `make demo` / `make bench` run
#   scripts/ensure-system.sh test   -> that plus what the test suite runs
#   scripts/ensure-system.sh --list -> every program this script knows, one per line (read by a test
#                                      that fails when code or tests run a program not listed here)
# Installs with apt-get when run as root or with passwordless sudo; otherwise prints one line saying
# exactly what to install and exits 1.
set -euo pipefail

# program:package — checked with `command -v` and in /usr/sbin (mosquitto lives there).
readonly DEMO_PROGRAMS=(
  mosquitto:mosquitto            # the managed broker (demo, bench, tests)
  mosquitto_passwd:mosquitto     # `sledhub node add` writes broker passwords
  npm:npm                        # installs web/package-lock.json (the Socket.IO client)
)
readonly TEST_PROGRAMS=(
  mosquitto_pub:mosquitto-clients   # docs/protocol.md's hand-typed lines, run as written
  mosquitto_sub:mosquitto-clients
  chromium:chromium                 # browser tests (Playwright drives Debian's Chromium)
  shellcheck:shellcheck             # lints scripts/*.sh and the deploy scripts
  systemd-analyze:systemd           # `systemd-analyze verify` of our units
  mount:mount                       # store faults: a small tmpfs for a full disk, remounted read-only
  umount:mount
  openssl:openssl                   # tests/chain: a throw-away CA and certificate for the bridge's TLS
)

mode="${1:-demo}"
programs=("${DEMO_PROGRAMS[@]}")
case "$mode" in
  demo) ;;
  test) programs+=("${TEST_PROGRAMS[@]}") ;;
  --list) for entry in "${DEMO_PROGRAMS[@]}" "${TEST_PROGRAMS[@]}"; do echo "${entry%%:*}"; done; exit 0 ;;
  *) echo "usage: $0 demo|test|--list" >&2; exit 2 ;;
esac

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

missing=()
add() { [[ " ${missing[*]-} " == *" $1 "* ]] || missing+=("$1"); }
python3 -c 'import venv, ensurepip' 2>/dev/null || add python3-venv
for entry in "${programs[@]}"; do
  have "${entry%%:*}" || add "${entry#*:}"
done
# systemd-analyze verify needs the system's own unit directory to check ours against
if [ "$mode" = test ] && [ ! -e /usr/lib/systemd/system/sysinit.target ] && [ ! -e /lib/systemd/system/sysinit.target ]; then
  add systemd
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "sledhub needs these Debian packages: run 'sudo apt-get install -y ${missing[*]}' and try again" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for entry in "${programs[@]}"; do
  have "${entry%%:*}" || { echo "ensure-system: '${entry%%:*}' is still missing after installing ${entry#*:}" >&2; exit 1; }
done
