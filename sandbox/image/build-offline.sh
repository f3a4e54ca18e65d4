#!/usr/bin/env bash
# Build the sandbox image without a container registry: debootstrap a minimal Debian with the data
# libraries from the distribution's packages, then `docker import` it. Skips when the tag exists.
set -euo pipefail

IMAGE="${ORCH_SANDBOX_IMAGE:-orchestrator-sandbox:0.1}"
SUITE="${SANDBOX_SUITE:-bookworm}"
MIRROR="${SANDBOX_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3 python3-numpy python3-pandas python3-matplotlib python3-ipykernel python3-pil
  python3-scipy python3-openpyxl fonts-dejavu-core"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "sandbox image $IMAGE already present"
  exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }

ROOT="$(mktemp -d /var/tmp/sandbox-rootfs.XXXXXX)"
cleanup() { mountpoint -q "$ROOT/proc" && umount "$ROOT/proc"; rm -rf "$ROOT"; }
trap cleanup EXIT
start=$(date +%s)
# A bare base first, then apt inside it: apt orders the Python packages' configuration correctly
# (debootstrap --include does not, e.g. python3-zmq fails to configure).
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR"
mount -t proc proc "$ROOT/proc"
# shellcheck disable=SC2086
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends $PACKAGES
umount "$ROOT/proc"

# Unprivileged user (uid 1000) owning only /mnt/data and its home; no package manager caches.
echo 'sandbox:x:1000:1000:sandbox:/home/sandbox:/usr/sbin/nologin' >> "$ROOT/etc/passwd"
echo 'sandbox:x:1000:' >> "$ROOT/etc/group"
echo 'sandbox:!:19000::::::' >> "$ROOT/etc/shadow"
mkdir -p "$ROOT/mnt/data" "$ROOT/home/sandbox" "$ROOT/run/kernel"
chown 1000:1000 "$ROOT/mnt/data" "$ROOT/home/sandbox" "$ROOT/run/kernel"
# No setuid binaries inside: privilege escalation has nothing to aim at.
find "$ROOT" -xdev -perm /6000 -type f -exec chmod ug-s {} +
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
  "$ROOT"/usr/share/doc "$ROOT"/usr/share/man "$ROOT"/usr/share/locale
install -m 0644 "$(dirname "$0")/matplotlibrc" "$ROOT/etc/matplotlibrc"

tar -C "$ROOT" -c . | docker import \
  --change 'USER 1000:1000' \
  --change 'WORKDIR /mnt/data' \
  --change 'ENV HOME=/home/sandbox PYTHONDONTWRITEBYTECODE=1 MPLCONFIGDIR=/tmp/mpl' \
  --change 'CMD ["python3", "-m", "ipykernel_launcher", "-f", "/run/kernel/connection.json"]' \
  - "$IMAGE"
echo "built $IMAGE in $(( $(date +%s) - start )) s"
