#!/usr/bin/env bash
# Installs a publish.sh bundle on the kiosk itself (run as root from the unpacked bundle's folder):
#   /opt/kiosk        the program, its native ONNX Runtime, the models (cache/), this script
#   /etc/kiosk        site settings (*.json, read after the bundled appsettings.json); an example is written once
#   /var/lib/kiosk    gallery, key, event log (systemd StateDirectory, 0700, owned by the kiosk user)
# and the systemd unit. Idempotent: run it again to upgrade; settings and state are kept.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -f "$here/kiosk.dll" ] || { echo "install.sh: run from the unpacked bundle (kiosk.dll not found in $here)" >&2; exit 1; }

missing=()
for p in ffmpeg libturbojpeg0 libwebp7 libmosquitto1; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

getent group gpio >/dev/null || groupadd --system gpio
id kiosk >/dev/null 2>&1 || useradd --system --home-dir /var/lib/kiosk --shell /usr/sbin/nologin --groups gpio,video,users kiosk

if [ "$here" != /opt/kiosk ]; then
  mkdir -p /opt/kiosk
  # Replace the program, keep nothing stale.
  find /opt/kiosk -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +
  cp -a "$here"/. /opt/kiosk/
fi
chown -R root:root /opt/kiosk
chmod -R go-w /opt/kiosk
install -d -m 0755 /etc/kiosk
if [ ! -e /etc/kiosk/site.json ]; then
  cat > /etc/kiosk/site.json <<'JSON'
{
  "Camera": { "Kind": "V4l2", "Device": "/dev/video0", "Width": 640, "Height": 480, "FrameRate": 15 },
  "Door": { "Driver": "gpio", "ChipPath": "/dev/gpiochip0", "LockLine": 17, "GreenLedLine": 27, "RedLedLine": 22, "BuzzerLine": 23,
            "ExitButtonLine": 24, "DoorContactLine": 25 }
}
JSON
fi
install -m 0644 /opt/kiosk/kiosk.service /etc/systemd/system/kiosk.service
systemctl daemon-reload
echo "installed. Enroll people:  sudo -u kiosk KIOSK_STATE_DIR=/var/lib/kiosk /opt/kiosk/kiosk enroll --name NAME photo.jpg"
echo "then:  systemctl enable --now kiosk   and watch:  journalctl -u kiosk -f"
