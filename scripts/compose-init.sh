#!/usr/bin/env bash
# Prepares the secrets docker-compose.yml needs, once per installation:
#   - docker/mosquitto/passwords: Mosquitto's password file with the service accounts
#     dco-worker, dco-bridge and dco-health (hashed by mosquitto_passwd; devices are added
#     later, see docs/operations.md "Device credentials");
#   - .env: their passwords for compose (DCO_WORKER_MQTT_PASSWORD, DCO_BRIDGE_MQTT_PASSWORD,
#     DCO_HEALTH_MQTT_PASSWORD) and POSTGRES_PASSWORD.
# Both files are secrets: never commit them (they are in .gitignore).
#
#   scripts/compose-init.sh            create what is missing; never changes an existing password
#   scripts/compose-init.sh --rotate   new passwords for the three service accounts (device
#                                      accounts and the PostgreSQL password are kept); then run
#                                      `docker compose kill -s HUP mosquitto && docker compose up -d`
#
# Uses mosquitto_passwd if it is installed, else the Mosquitto image through Docker. Mosquitto
# runs as uid 1883 in its container and must be able to read the password file: as root, or
# with Docker available, the file is given to uid 1883 with mode 600.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOSQ_DIR="$ROOT/docker/mosquitto"
PWFILE="$MOSQ_DIR/passwords"
ENV_FILE="$ROOT/.env"
# Keep in step with the mosquitto service in docker-compose.yml.
MOSQUITTO_IMAGE="${MOSQUITTO_IMAGE:-eclipse-mosquitto:2.0.22}"
MOSQUITTO_UID=1883

SERVICE_USERS=(dco-worker dco-bridge dco-health)
declare -A ENV_KEY=(
  [dco-worker]=DCO_WORKER_MQTT_PASSWORD
  [dco-bridge]=DCO_BRIDGE_MQTT_PASSWORD
  [dco-health]=DCO_HEALTH_MQTT_PASSWORD
)

rotate=false
case "${1:-}" in
  '') ;;
  --rotate) rotate=true ;;
  -h | --help) sed -n '2,/^[^#]/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
esac

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# 24 characters of base64url: no quoting needed in .env, YAML or a shell.
new_password() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }

env_get() {
  if [ -f "$ENV_FILE" ]; then sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; fi
}

env_set() {
  local key="$1" value="$2" tmp
  tmp="$(mktemp "$ROOT/.env.XXXXXX")"
  if [ -f "$ENV_FILE" ]; then grep -v "^$key=" "$ENV_FILE" >"$tmp" || true; fi
  printf '%s=%s\n' "$key" "$value" >>"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$ENV_FILE"
}

docker_usable() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

# Reads `user:password` lines of the service accounts on stdin, hashes them and writes them into
# $PWFILE, keeping every other (device) entry. The file is rewritten in place, never replaced:
# a running broker has it bind-mounted, and a bind mount follows the inode. Runs on this
# machine or, as root, in the Mosquitto image; with OWNER set it ends by chown-ing the file.
# shellcheck disable=SC2016 # expanded by the inner shell
UPDATE_SCRIPT='
set -eu
umask 077
tmp="$(mktemp -d)"
trap "rm -rf \"$tmp\"" EXIT
cat >"$tmp/plain"
mosquitto_passwd -U "$tmp/plain" >/dev/null
: >"$tmp/new"
if [ -f "$PWFILE" ]; then grep -v -E "^(dco-worker|dco-bridge|dco-health):" "$PWFILE" >"$tmp/new" || true; fi
cat "$tmp/plain" >>"$tmp/new"
cat "$tmp/new" >"$PWFILE"
if [ -n "${OWNER:-}" ]; then chown "$OWNER" "$PWFILE"; chmod 600 "$PWFILE"; fi
'

update_password_file() { # stdin: user:password lines
  local can_local=false
  if command -v mosquitto_passwd >/dev/null 2>&1; then
    if [ ! -e "$PWFILE" ] || { [ -r "$PWFILE" ] && [ -w "$PWFILE" ]; }; then can_local=true; fi
  fi
  if $can_local; then
    if [ "$(id -u)" = 0 ]; then
      PWFILE="$PWFILE" OWNER="$MOSQUITTO_UID:$MOSQUITTO_UID" sh -c "$UPDATE_SCRIPT"
    else
      PWFILE="$PWFILE" OWNER='' sh -c "$UPDATE_SCRIPT"
      give_to_mosquitto
    fi
  elif docker_usable; then
    docker run --rm -i --user 0 -v "$MOSQ_DIR:/work" -e PWFILE=/work/passwords -e OWNER="$MOSQUITTO_UID:$MOSQUITTO_UID" \
      --entrypoint sh "$MOSQUITTO_IMAGE" -c "$UPDATE_SCRIPT"
  elif [ -e "$PWFILE" ] && command -v mosquitto_passwd >/dev/null 2>&1; then
    die "$PWFILE belongs to the broker (uid $MOSQUITTO_UID) and Docker is not usable: run this script as root"
  else
    die "mosquitto_passwd is missing and Docker is not usable. Install one of them:
  sudo apt-get install -y mosquitto        (provides mosquitto_passwd)
  or start Docker, which runs $MOSQUITTO_IMAGE"
  fi
}

# The broker reads the file as uid 1883. Without root, Docker can hand it over; failing both,
# the file is made world-readable (hashes only, and Mosquitto 2.0 warns about it at start).
give_to_mosquitto() {
  if docker_usable; then
    docker run --rm --user 0 -v "$MOSQ_DIR:/work" --entrypoint sh "$MOSQUITTO_IMAGE" \
      -c "chown $MOSQUITTO_UID:$MOSQUITTO_UID /work/passwords && chmod 600 /work/passwords"
  else
    chmod 644 "$PWFILE"
    say "warning: $PWFILE is readable by every local user (it holds salted hashes, no passwords)."
    say "  Make the broker's uid its only reader:  sudo chown $MOSQUITTO_UID:$MOSQUITTO_UID $PWFILE && sudo chmod 600 $PWFILE"
  fi
}

# --- PostgreSQL: generated once; it only takes effect when the database volume is created.
if [ -z "$(env_get POSTGRES_PASSWORD)" ]; then
  env_set POSTGRES_PASSWORD "$(new_password)"
  say "POSTGRES_PASSWORD written to $ENV_FILE"
fi

# --- MQTT service accounts
missing=()
for user in "${SERVICE_USERS[@]}"; do
  [ -n "$(env_get "${ENV_KEY[$user]}")" ] || missing+=("$user")
done

if [ -e "$PWFILE" ] && ! $rotate; then
  if [ "${#missing[@]}" -gt 0 ]; then
    die "$PWFILE exists but $ENV_FILE has no password for: ${missing[*]}.
  Run scripts/compose-init.sh --rotate to give all service accounts new passwords (device accounts are kept)."
  fi
  say "Already initialised: $PWFILE and the passwords in $ENV_FILE exist. Nothing changed."
  exit 0
fi

[ -d "$PWFILE" ] && die "$PWFILE is a directory (Docker creates one when the file is missing at \`up\`): remove it and run again"

lines=""
declare -A chosen=()
for user in "${SERVICE_USERS[@]}"; do
  password="$(env_get "${ENV_KEY[$user]}")"
  if $rotate || [ -z "$password" ]; then password="$(new_password)"; fi
  chosen[$user]="$password"
  lines+="$user:$password"$'\n'
done
# The password file first: if that fails, .env still matches the broker.
printf '%s' "$lines" | update_password_file
for user in "${SERVICE_USERS[@]}"; do env_set "${ENV_KEY[$user]}" "${chosen[$user]}"; done

say "Service accounts ${SERVICE_USERS[*]} are in $PWFILE; their passwords are in $ENV_FILE (mode 600)."
if $rotate; then
  say "Apply the new passwords:  docker compose kill -s HUP mosquitto && docker compose up -d"
else
  say "Next: docker compose up -d   (see docs/operations.md)"
fi
