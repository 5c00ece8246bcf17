#!/usr/bin/env bash
# Install or update sledhub on Raspberry Pi OS bookworm. Safe to run again (after `git pull`, or
# with another role): every step checks what is already there, and an edited config is never
# overwritten. Walkthrough: docs/deploy.md.
#
#   sudo scripts/install-pi.sh --hub                   # the hub Pi: Mosquitto, hub service, web pages
#   sudo scripts/install-pi.sh --hub --kiosk           # ...that also drives the wall TV
#   sudo scripts/install-pi.sh --node --node-config lane1.toml   # a sensor node (Pi Zero)
#   sudo scripts/install-pi.sh --kiosk --display-url http://192.168.1.20:8080/display  # a TV-only Pi
set -euo pipefail

readonly PREFIX=/opt/sledhub
readonly APP_DIR="$PREFIX/src"
readonly VENV="$PREFIX/venv"
readonly CONF_DIR=/etc/sledhub
readonly SERVICE_USER=sledhub
readonly MQTT_PASSWD_FILE=/etc/mosquitto/sledhub.passwd
readonly MQTT_ACL_FILE=/etc/mosquitto/sledhub.acl
readonly MQTT_DROPIN=/etc/mosquitto/conf.d/sledhub.conf
readonly HUB_PASSWORD_FILE="$CONF_DIR/mqtt-password"
readonly SECRET_KEY_FILE="$CONF_DIR/secret-key"
readonly UNIT_DIR=/etc/systemd/system
readonly SYSCTL_DROPIN=/etc/sysctl.d/60-sledhub.conf

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly SRC_DIR

want_hub=0
want_node=0
want_kiosk=0
have_systemd=0
node_config=""
kiosk_user="${SUDO_USER:-}"
display_url="http://localhost:8080/display"

usage() {
  cat <<EOF
Usage: sudo $0 [--hub] [--node [--node-config FILE]] [--kiosk [--kiosk-user USER] [--display-url URL]]

Installs sledhub from this checkout ($SRC_DIR) on Raspberry Pi OS bookworm. Give at least one role:
  --hub              Mosquitto (LAN listener, passwords, ACL), the hub service, the web pages
  --node             the sensor bridge service (GPIO through the gpio group)
  --node-config FILE install FILE (output of 'sledhub node add NAME' on the hub) as $CONF_DIR/node.toml
  --kiosk            Chromium kiosk on the desktop, opening the wall display at login
  --kiosk-user USER  desktop user whose labwc session starts the kiosk (default: the sudo user)
  --display-url URL  page the kiosk opens (default: $display_url)
  -h, --help         this help
EOF
}

die() { echo "install-pi: $*" >&2; exit 1; }
say() { echo "==> $*"; }
note() { echo "    $*"; }

parse_args() {
  while (($#)); do
    case "$1" in
      --hub) want_hub=1 ;;
      --node) want_node=1 ;;
      --kiosk) want_kiosk=1 ;;
      --node-config) (($# >= 2)) || { usage >&2; exit 2; }; node_config="$2"; want_node=1; shift ;;
      --kiosk-user) (($# >= 2)) || { usage >&2; exit 2; }; kiosk_user="$2"; shift ;;
      --display-url) (($# >= 2)) || { usage >&2; exit 2; }; display_url="$2"; shift ;;
      -h | --help) usage; exit 0 ;;
      *) echo "install-pi: unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
  done
  if ((want_hub + want_node + want_kiosk == 0)); then
    echo "install-pi: choose a role: --hub, --node and/or --kiosk" >&2
    usage >&2
    exit 2
  fi
  if [[ -n "$node_config" && ! -r "$node_config" ]]; then
    die "cannot read node config $node_config"
  fi
  if [[ ! "$display_url" =~ ^https?:// ]]; then
    die "--display-url must start with http:// or https://"
  fi
}

preflight() {
  ((EUID == 0)) || die "run as root: sudo $0 $*"
  # shellcheck source=/dev/null
  . /etc/os-release
  if [[ "${VERSION_CODENAME:-}" != bookworm ]]; then
    note "warning: made for Raspberry Pi OS bookworm, this is ${PRETTY_NAME:-unknown}; continuing"
  fi
  if [[ -d /run/systemd/system ]]; then
    have_systemd=1
  else
    note "warning: systemd is not running here: units are installed but not enabled or started"
  fi
}

# The first of the given Debian packages that apt knows (names differ between Pi OS releases).
first_available_package() {
  local pkg
  for pkg in "$@"; do
    if apt-cache show "$pkg" >/dev/null 2>&1; then
      echo "$pkg"
      return 0
    fi
  done
  return 1
}

install_packages() {
  local packages=(python3 python3-venv rsync ca-certificates)
  if ((want_hub)); then
    packages+=(mosquitto mosquitto-clients)
    # Debian's npm conflicts with a NodeSource nodejs (which bundles npm): keep whichever is there.
    if ! command -v npm >/dev/null; then
      packages+=(nodejs npm)
    fi
  fi
  if ((want_node)); then
    packages+=(mosquitto-clients)
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ((want_node)) && apt-cache show python3-lgpio >/dev/null 2>&1; then
    # gpiozero's lgpio pin factory, packaged by Pi OS; the venv sees it (--system-site-packages).
    packages+=(python3-lgpio)
  fi
  if ((want_kiosk)); then
    packages+=(curl)
    if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
      # Pi OS's own build first (older bookworm images name it chromium-browser), then Debian's.
      local chromium
      chromium="$(first_available_package chromium-browser chromium)" \
        || die "no Chromium package found in apt's lists"
      packages+=("$chromium")
    fi
  fi
  say "Debian packages: ${packages[*]}"
  apt-get install -y -qq "${packages[@]}"
}

create_service_user() {
  if ! getent passwd "$SERVICE_USER" >/dev/null; then
    say "system user $SERVICE_USER"
    useradd --system --user-group --home-dir /var/lib/sledhub --no-create-home \
      --shell /usr/sbin/nologin "$SERVICE_USER"
  fi
  if ((want_node)); then
    getent group gpio >/dev/null || groupadd --system gpio
    usermod --append --groups gpio "$SERVICE_USER"
  fi
  install -d -o root -g "$SERVICE_USER" -m 0750 "$CONF_DIR"
}

install_code() {
  say "code in $APP_DIR, virtualenv in $VENV"
  install -d -o root -g root -m 0755 "$PREFIX"
  if [[ "$SRC_DIR" != "$APP_DIR" ]]; then
    rsync -a --delete --exclude .git/ --exclude .venv/ --exclude node_modules/ \
      --exclude __pycache__/ --exclude '*.egg-info/' --exclude .pytest_cache/ \
      "$SRC_DIR/" "$APP_DIR/"
  fi
  if [[ ! -x "$VENV/bin/python" ]] \
    || { ((want_node)) && grep -q '^include-system-site-packages = false' "$VENV/pyvenv.cfg"; }; then
    # Debian's python3 by full path (the one python3-venv and python3-lgpio are for), not whatever
    # python3 comes first on root's PATH. A node sees the system's site-packages (python3-lgpio); a
    # hub alone does not, so Debian's python3-requests is not loaded by Socket.IO's client (5.6 MB).
    # (--upgrade turns the system's site-packages on in a hub's venv that gets the node role too.)
    local venv_opts=()
    if ((want_node)); then venv_opts+=(--system-site-packages); fi
    if [[ -x "$VENV/bin/python" ]]; then venv_opts+=(--upgrade); fi
    /usr/bin/python3 -m venv "${venv_opts[@]}" "$VENV"
  fi
  # A node needs only paho-mqtt and gpiozero (the base install); the hub adds Flask and Socket.IO.
  # Editable, so the hub serves web/ (and any other data files) straight from $APP_DIR.
  local target="$APP_DIR"
  if ((want_hub)); then target="${APP_DIR}[hub]"; fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --editable "$target"
  if ((want_hub)); then
    # `sudo sledhub node add NAME` (sudo's PATH includes /usr/local/bin).
    ln -sfn "$VENV/bin/sledhub" /usr/local/bin/sledhub
  fi
  if ((want_hub)) && [[ -f "$APP_DIR/web/package-lock.json" ]]; then
    say "browser libraries (npm ci in $APP_DIR/web)"
    (cd "$APP_DIR/web" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
  fi
}

# install_config SRC DEST: install a config file once; later runs leave an edited copy alone and put
# the shipped version next to it as DEST.dist for comparison.
install_config() {
  local src="$1" dest="$2"
  if [[ ! -e "$dest" ]]; then
    install -o root -g "$SERVICE_USER" -m 0640 "$src" "$dest"
    note "installed $dest"
  elif ! cmp -s "$src" "$dest"; then
    install -o root -g "$SERVICE_USER" -m 0640 "$src" "$dest.dist"
    note "kept your $dest (the shipped version is $dest.dist)"
  fi
}

# new_secret_file PATH: write a new random secret to PATH, readable by root and the service only.
new_secret_file() {
  (umask 027 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$1")
  chown root:"$SERVICE_USER" "$1"
  chmod 0640 "$1"
}

# set_mqtt_password USER PASSWORD: add or update a login in the broker's password file, with the
# password on stdin (never on a command line, where every local user could read it).
set_mqtt_password() {
  local user="$1" password="$2"
  printf '%s\n%s\n' "$password" "$password" | mosquitto_passwd "$MQTT_PASSWD_FILE" "$user" >/dev/null
}

setup_broker() {
  say "Mosquitto: $MQTT_DROPIN, $MQTT_ACL_FILE, $MQTT_PASSWD_FILE"
  install -o root -g root -m 0644 "$SRC_DIR/deploy/mosquitto/sledhub.conf" "$MQTT_DROPIN"
  # The broker reads these after dropping to user mosquitto.
  install -o root -g mosquitto -m 0640 "$SRC_DIR/deploy/mosquitto/sledhub.acl" "$MQTT_ACL_FILE"
  if [[ ! -e "$MQTT_PASSWD_FILE" ]]; then
    install -o root -g mosquitto -m 0640 /dev/null "$MQTT_PASSWD_FILE"
  fi

  # The hub's own login: keep a working pair, repair a half-made one, create it on first install.
  local password
  if [[ -s "$HUB_PASSWORD_FILE" ]]; then
    password="$(<"$HUB_PASSWORD_FILE")"
    if ! grep -q '^hub:' "$MQTT_PASSWD_FILE"; then
      set_mqtt_password hub "$password"
      note "restored the hub's broker login from $HUB_PASSWORD_FILE"
    fi
  else
    new_secret_file "$HUB_PASSWORD_FILE"
    set_mqtt_password hub "$(<"$HUB_PASSWORD_FILE")"
    note "created the hub's broker login (password in $HUB_PASSWORD_FILE)"
  fi
}

install_unit() {
  install -o root -g root -m 0644 "$SRC_DIR/systemd/$1" "$UNIT_DIR/$1"
}

setup_hub() {
  setup_broker
  install_config "$SRC_DIR/deploy/sledhub.toml" "$CONF_DIR/sledhub.toml"
  if [[ ! -s "$SECRET_KEY_FILE" ]]; then
    new_secret_file "$SECRET_KEY_FILE"
    note "created the web sessions' secret key $SECRET_KEY_FILE"
  fi
  install_unit sledhub.service
  # The hub's broker socket asks for a 4 MiB receive buffer (a frozen hub's backlog); allow it.
  install -o root -g root -m 0644 "$SRC_DIR/deploy/sysctl/60-sledhub.conf" "$SYSCTL_DROPIN"
  sysctl -q -p "$SYSCTL_DROPIN" || note "warning: could not apply $SYSCTL_DROPIN now (it applies at the next boot)"
  if ((have_systemd)); then
    systemctl daemon-reload
    systemctl enable --quiet mosquitto.service sledhub.service
    # A restart (not a reload) picks up a changed listener in the drop-in.
    systemctl restart mosquitto.service
    systemctl restart sledhub.service
  fi
  say "hub installed: http://$(hostname).local:8080/display (wall) and /instructor"
  note "add each sensor node here with: sudo sledhub node add NAME"
}

setup_node() {
  if [[ -n "$node_config" ]]; then
    install -o root -g "$SERVICE_USER" -m 0640 "$node_config" "$CONF_DIR/node.toml"
    note "installed $CONF_DIR/node.toml"
  fi
  install_unit sledhub-bridge.service
  if ((have_systemd)); then
    systemctl daemon-reload
    systemctl enable --quiet sledhub-bridge.service
    if [[ -e "$CONF_DIR/node.toml" ]]; then
      systemctl restart sledhub-bridge.service
    fi
  fi
  if [[ -e "$CONF_DIR/node.toml" ]]; then
    say "node installed and started (journalctl -u sledhub-bridge -f)"
  else
    say "node installed; it starts once it has a config:"
    note "on the hub: sudo sledhub node add NAME > NAME.toml"
    note "here: sudo $0 --node --node-config NAME.toml   (then add the [[sensor]] blocks)"
  fi
}

# The desktop user that gets the kiosk: --kiosk-user, the sudo user, else the first regular user.
resolve_kiosk_user() {
  if [[ -z "$kiosk_user" || "$kiosk_user" == root ]]; then
    kiosk_user="$(getent passwd 1000 | cut -d: -f1)"
  fi
  if [[ -z "$kiosk_user" ]] || ! getent passwd "$kiosk_user" >/dev/null; then
    die "no desktop user for the kiosk: pass --kiosk-user USER"
  fi
}

setup_kiosk() {
  resolve_kiosk_user
  local home autostart line quoted_url
  local -r shipped_url="http://localhost:8080/display"
  home="$(getent passwd "$kiosk_user" | cut -d: -f6)"
  autostart="$home/.config/labwc/autostart"
  install -o root -g root -m 0755 "$SRC_DIR/deploy/kiosk/sledhub-kiosk" /usr/local/bin/sledhub-kiosk

  say "kiosk: $autostart opens $display_url"
  # As the desktop user, so everything in their home stays theirs.
  runuser -u "$kiosk_user" -- mkdir -p "$home/.config/labwc"
  runuser -u "$kiosk_user" -- touch "$autostart"
  # Replace our lines (the URL may have changed), keep everything else the user has there.
  runuser -u "$kiosk_user" -- sed -i -e '/sledhub wall display/d' \
    -e '\#/usr/local/bin/sledhub-kiosk#d' "$autostart"
  quoted_url="$(printf '%q' "$display_url")"
  while IFS= read -r line; do
    printf '%s\n' "${line//"$shipped_url"/"$quoted_url"}"
  done <"$SRC_DIR/deploy/kiosk/labwc-autostart" | runuser -u "$kiosk_user" -- tee -a "$autostart" >/dev/null

  if command -v raspi-config >/dev/null; then
    raspi-config nonint do_blanking 1 || note "could not turn off screen blanking (raspi-config)"
  fi
  note "the kiosk opens at the next desktop login of $kiosk_user (labwc session; see docs/deploy.md)"
}

main() {
  parse_args "$@"
  preflight "$@"
  install_packages
  create_service_user
  install_code
  if ((want_hub)); then setup_hub; fi
  if ((want_node)); then setup_node; fi
  if ((want_kiosk)); then setup_kiosk; fi
  say "done"
}

main "$@"
