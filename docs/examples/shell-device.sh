#!/usr/bin/env bash
# A device in a few lines of shell, with nothing but mosquitto_sub and mosquitto_pub
# (Debian: mosquitto-clients). It follows docs/protocol.md for one command and exits:
# online status (retained), then for the next command: ack accepted, result succeeded.
#
#   usage: shell-device.sh DEVICE_ID [MQTT_HOST] [MQTT_PORT]     (topic prefix: DCO_TOPIC_PREFIX)
set -euo pipefail
DEVICE_ID=${1:?usage: shell-device.sh DEVICE_ID [MQTT_HOST] [MQTT_PORT]}
HOST=${2:-localhost}
PORT=${3:-1883}
PREFIX=${DCO_TOPIC_PREFIX:-devices}
BOOT_ID="boot-$(date +%s)-$$"

pub() { # pub TOPIC_KIND JSON [extra mosquitto_pub flags]
  mosquitto_pub -V mqttv5 -h "$HOST" -p "$PORT" -q 1 -t "$PREFIX/$DEVICE_ID/$1" -m "$2" "${@:3}"
}

pub status "{\"v\":1,\"state\":\"online\",\"bootId\":\"$BOOT_ID\"}" -r
# -C 1: take one command. A command missed before we subscribed is re-published by the service.
command=$(mosquitto_sub -V mqttv5 -h "$HOST" -p "$PORT" -q 1 -t "$PREFIX/$DEVICE_ID/commands" -C 1)
id=$(printf '%s' "$command" | sed -n 's/.*"commandId":"\([^"]*\)".*/\1/p')
echo "received command $id: $command" >&2
pub ack "{\"v\":1,\"commandId\":\"$id\",\"status\":\"accepted\"}"
pub result "{\"v\":1,\"commandId\":\"$id\",\"status\":\"succeeded\",\"output\":{\"executedBy\":\"shell\"}}"
pub status "{\"v\":1,\"state\":\"offline\",\"bootId\":\"$BOOT_ID\"}" -r
