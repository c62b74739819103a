#!/usr/bin/env bash
# Prepares the secrets docker-compose.yml needs, once per installation:
#   - docker/mosquitto/service-passwords: the password file of the services' listener (1884)
#     with the service accounts dco-worker, dco-bridge and dco-health, hashed by mosquitto_passwd;
#   - docker/mosquitto/passwords: the password file of the devices' listener (1883), device
#     accounts only: created empty, devices are added later (docs/operations.md "Device
#     credentials"). Service accounts found in it (an installation from before the services'
#     listener) are removed: the devices' listener must not accept service logins;
#   - .env: the service accounts' passwords for compose (DCO_WORKER_MQTT_PASSWORD,
#     DCO_BRIDGE_MQTT_PASSWORD, DCO_HEALTH_MQTT_PASSWORD) and POSTGRES_PASSWORD.
# All three files are secrets: never commit them (they are in .gitignore).
#
#   scripts/compose-init.sh            create what is missing; never changes an existing password
#   scripts/compose-init.sh --rotate   new passwords for the three service accounts (device
#                                      accounts and the PostgreSQL password are kept); then run
#                                      `docker compose kill -s HUP mosquitto && docker compose up -d`
#
# Uses mosquitto_passwd if it is installed, else the Mosquitto image through Docker. Mosquitto
# runs as uid 1883 in its container and must be able to read the password files: as root, or
# with Docker available, each file is given to uid 1883 with mode 600.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOSQ_DIR="$ROOT/docker/mosquitto"
PWFILE="$MOSQ_DIR/passwords"
SERVICE_PWFILE="$MOSQ_DIR/service-passwords"
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
# Names that are never device IDs (stack/broker-auth.ts SERVICE_ACCOUNTS and the reload probe),
# as an extended regular expression: none of them may log in on the devices' listener.
RESERVED_NAMES='dco-worker|dco-bridge|dco-health|dco-gateway|dco-reload-probe'

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

# Reads `user:password` lines on stdin (none: nothing to add), hashes them and writes them into
# $PWFILE, dropping the entries of the users named by the regular expression $DROP and keeping
# every other one. Creates the file if it is missing; leaves it untouched (and prints nothing)
# when there is nothing to add or drop, else prints "changed". The file is rewritten in place,
# never replaced: a running broker has it bind-mounted, and a bind mount follows the inode.
# Runs on this machine or, as root, in the Mosquitto image; with OWNER set it ends by chown-ing
# the file.
# shellcheck disable=SC2016 # expanded by the inner shell
UPDATE_SCRIPT='
set -eu
umask 077
tmp="$(mktemp -d)"
trap "rm -rf \"$tmp\"" EXIT
cat >"$tmp/plain"
if [ -s "$tmp/plain" ]; then mosquitto_passwd -U "$tmp/plain" >/dev/null; fi
if [ ! -f "$PWFILE" ] || [ -s "$tmp/plain" ] || grep -q -E "^($DROP):" "$PWFILE"; then
  : >"$tmp/new"
  if [ -f "$PWFILE" ]; then grep -v -E "^($DROP):" "$PWFILE" >"$tmp/new" || true; fi
  cat "$tmp/plain" >>"$tmp/new"
  cat "$tmp/new" >"$PWFILE"
  echo changed
fi
if [ -n "${OWNER:-}" ]; then chown "$OWNER" "$PWFILE"; chmod 600 "$PWFILE"; fi
'

# update_password_file FILE DROP; stdin: user:password lines. Prints "changed" if it wrote.
update_password_file() {
  local file="$1" drop="$2" name can_local=false out
  name="$(basename "$file")"
  if command -v mosquitto_passwd >/dev/null 2>&1; then
    if [ ! -e "$file" ] || { [ -r "$file" ] && [ -w "$file" ]; }; then can_local=true; fi
  fi
  if $can_local; then
    if [ "$(id -u)" = 0 ]; then
      PWFILE="$file" DROP="$drop" OWNER="$MOSQUITTO_UID:$MOSQUITTO_UID" sh -c "$UPDATE_SCRIPT"
    else
      out="$(PWFILE="$file" DROP="$drop" OWNER='' sh -c "$UPDATE_SCRIPT")"
      # Only a file this run wrote needs handing over (an untouched one already was).
      if [ -n "$out" ]; then give_to_mosquitto "$file"; fi
      printf '%s' "$out"
    fi
  elif docker_usable; then
    docker run --rm -i --user 0 -v "$MOSQ_DIR:/work" -e PWFILE="/work/$name" -e DROP="$drop" \
      -e OWNER="$MOSQUITTO_UID:$MOSQUITTO_UID" --entrypoint sh "$MOSQUITTO_IMAGE" -c "$UPDATE_SCRIPT"
  elif [ -e "$file" ] && command -v mosquitto_passwd >/dev/null 2>&1; then
    die "$file belongs to the broker (uid $MOSQUITTO_UID) and Docker is not usable: run this script as root"
  else
    die "mosquitto_passwd is missing and Docker is not usable. Install one of them:
  sudo apt-get install -y mosquitto        (provides mosquitto_passwd)
  or start Docker, which runs $MOSQUITTO_IMAGE"
  fi
}

# give_to_mosquitto FILE: the broker reads it as uid 1883. Without root, Docker can hand it
# over; failing both, the file is made world-readable (hashes only, and Mosquitto 2.0 warns
# about it at start).
give_to_mosquitto() {
  local file="$1"
  if docker_usable; then
    docker run --rm --user 0 -v "$MOSQ_DIR:/work" --entrypoint sh "$MOSQUITTO_IMAGE" \
      -c "chown $MOSQUITTO_UID:$MOSQUITTO_UID '/work/$(basename "$file")' && chmod 600 '/work/$(basename "$file")'"
  else
    chmod 644 "$file"
    say "warning: $file is readable by every local user (it holds salted hashes, no passwords)."
    say "  Make the broker's uid its only reader:  sudo chown $MOSQUITTO_UID:$MOSQUITTO_UID $file && sudo chmod 600 $file"
  fi
}

# Docker creates a directory in place of a missing bind-mounted file (older compose files did
# not forbid it).
for file in "$SERVICE_PWFILE" "$PWFILE"; do
  if [ -d "$file" ]; then die "$file is a directory (Docker creates one when the file is missing at \`up\`): remove it and run again"; fi
done

changed=false

# --- PostgreSQL: generated once; it only takes effect when the database volume is created.
if [ -z "$(env_get POSTGRES_PASSWORD)" ]; then
  env_set POSTGRES_PASSWORD "$(new_password)"
  say "POSTGRES_PASSWORD written to $ENV_FILE"
  changed=true
fi

# --- MQTT service accounts: service-passwords (the services' listener) and .env. First, so
# that an installation from before that listener has its service accounts there before they
# leave the devices' file below.
missing=()
for user in "${SERVICE_USERS[@]}"; do
  [ -n "$(env_get "${ENV_KEY[$user]}")" ] || missing+=("$user")
done

if [ -e "$SERVICE_PWFILE" ] && ! $rotate; then
  if [ "${#missing[@]}" -gt 0 ]; then
    die "$SERVICE_PWFILE exists but $ENV_FILE has no password for: ${missing[*]}.
  Run scripts/compose-init.sh --rotate to give all service accounts new passwords (device accounts are kept)."
  fi
else
  # Passwords already in .env are kept (an older installation whose broker knows them), except
  # with --rotate.
  lines=""
  declare -A chosen=()
  for user in "${SERVICE_USERS[@]}"; do
    password="$(env_get "${ENV_KEY[$user]}")"
    if $rotate || [ -z "$password" ]; then password="$(new_password)"; fi
    chosen[$user]="$password"
    lines+="$user:$password"$'\n'
  done
  drop="$(IFS='|'; printf '%s' "${SERVICE_USERS[*]}")"
  # The password file first: if that fails, .env still matches the broker.
  printf '%s' "$lines" | update_password_file "$SERVICE_PWFILE" "$drop" >/dev/null
  for user in "${SERVICE_USERS[@]}"; do env_set "${ENV_KEY[$user]}" "${chosen[$user]}"; done
  say "Service accounts ${SERVICE_USERS[*]} are in $SERVICE_PWFILE; their passwords are in $ENV_FILE (mode 600)."
  changed=true
fi

# --- Device accounts: passwords (the devices' listener). Created empty; never a service account.
if [ ! -e "$PWFILE" ]; then
  update_password_file "$PWFILE" "$RESERVED_NAMES" </dev/null >/dev/null
  say "Created $PWFILE for the device accounts (empty; see docs/operations.md \"Device credentials\")."
  changed=true
elif [ -r "$PWFILE" ] && ! grep -q -E "^($RESERVED_NAMES):" "$PWFILE"; then
  : # devices only already
elif [ -r "$PWFILE" ] || docker_usable; then
  # Holds service accounts, or cannot be read here (Docker reads it in the Mosquitto image).
  out="$(update_password_file "$PWFILE" "$RESERVED_NAMES" </dev/null)"
  if [ -n "$out" ]; then
    say "Removed the service accounts from $PWFILE: it holds device accounts only now (services log in on port 1884)."
    changed=true
  fi
else
  say "warning: cannot read $PWFILE (it belongs to uid $MOSQUITTO_UID) to check that it holds no service accounts: run this script as root"
fi

if ! $changed; then
  say "Already initialised: $SERVICE_PWFILE, $PWFILE and the passwords in $ENV_FILE exist. Nothing changed."
elif $rotate; then
  say "Apply the new passwords:  docker compose kill -s HUP mosquitto && docker compose up -d"
else
  say "Next: docker compose up -d   (see docs/operations.md)"
fi
