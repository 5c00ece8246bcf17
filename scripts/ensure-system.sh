#!/usr/bin/env bash
# Make sure the Debian packages sledhub needs are on this machine.
#   scripts/ensure-system.sh demo   -> python3-venv, mosquitto, nodejs/npm
#   scripts/ensure-system.sh test   -> the same plus chromium (for the browser tests)
# Installs with apt-get when run as root or with passwordless sudo; otherwise prints one line saying
# exactly what to install and exits 1.
set -euo pipefail

want=(mosquitto)
python3 -c 'import venv, ensurepip' 2>/dev/null || want+=(python3-venv)
command -v npm >/dev/null 2>&1 || want+=(npm)
[ "${1:-demo}" = test ] && want+=(chromium)

missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    mosquitto) command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto) ;;
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    *) missing+=("$pkg") ;;
  esac
done
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
