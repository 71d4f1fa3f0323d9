#!/bin/sh
# /usr/bin/packetbeat: runs packetbeat in the foreground with the same paths
# as the systemd unit uses.
exec /usr/share/packetbeat/bin/packetbeat \
  --path.home /usr/share/packetbeat \
  --path.config /etc/packetbeat \
  --path.data /var/lib/packetbeat \
  --path.logs /var/log/packetbeat \
  "$@"
