#!/usr/bin/env bash
# Installs what Nubis needs on Debian 12 and builds it. Usage: scripts/install.sh [--test]
# --test adds what the test suite and the benchmarks need (registry, skopeo, podman, tmux...).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (it installs Debian packages and Nubis manages mounts and cgroups)" >&2
  exit 1
fi

need_node_major=20
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "install.sh: Node.js >= $need_node_major is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Runtime: runc + conmon run containers; busybox-static makes the built-in image; attr gives setfattr
# (overlay opaque dirs, layer xattrs); iproute2 and util-linux for namespaces, mounts and pod networks;
# nftables for Service rules (iptables is the fallback); curl for the main job; python3, make and g++
# build better-sqlite3 from source (npm's prebuilt-binary download is not reachable everywhere).
# Secure pods (RuntimeClass nubis-microvm): gcc, libc6-dev and musl-tools build the micro-VM guest agent, a
# static C program (musl keeps it ~110 KB); QEMU (qemu-system-x86) runs the VMs; the distribution kernel
# (linux-image-amd64) is booted by guests only, its modules go into their initramfs; xz-utils unpacks
# the kernel image Debian compresses with xz (Node has no xz codec).
packages=(runc conmon busybox-static attr iproute2 util-linux nftables curl ca-certificates python3 make g++
  gcc libc6-dev musl-tools qemu-system-x86 linux-image-amd64 xz-utils)
if [ "${1:-}" = "--test" ]; then
  # The suite and benchmarks: a real registry on loopback, skopeo to push to it, podman as the peer,
  # apache2-utils for htpasswd, tmux to drive interactive sessions, openssl for token-auth certificates.
  # etcd-server for the etcd store backend.
  # nftables and iptables for the network tests (service rules, policy), run in namespaces the tests create;
  # wrk for bench/clusterip.ts; python3-kubernetes, the Python client the tests drive (also from inside a pod).
  packages+=(docker-registry skopeo podman apache2-utils tmux openssl etcd-server nftables iptables wrk python3-kubernetes)
  # qemu-img (qemu-utils) for the micro-VM tests and bench/microvm-boot.ts.
  packages+=(qemu-utils)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a docker-registry service on :5000 when it installs one; Nubis's tests run their own.
for svc in docker-registry etcd; do
  if systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
ln -sf "$PWD/bin/nubis" /usr/local/bin/nubis
echo "install.sh: nubis $(./bin/nubis --version) is installed at /usr/local/bin/nubis"
