#!/usr/bin/env bash
# Fetches Debian's cloud kernels 6.1 and 6.12 (only boot/vmlinuz-*, no
# modules) into the cache dir ($VIGIL_VM_CACHE, default /var/cache/vigil-vm)
# and installs QEMU, from Debian's apt. Prints one vmlinuz path per line.
# Idempotent: a cached kernel is not fetched again.
set -euo pipefail
cache=${VIGIL_VM_CACHE:-/var/cache/vigil-vm}
mkdir -p "$cache"
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
[[ -x /usr/bin/busybox ]] || need+=(busybox-static)
if ((${#need[@]})); then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for meta in linux-image-cloud-amd64 linux-image-6.12-cloud-amd64; do
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	if [[ -z $pkg ]]; then
		apt-get update -qq
		pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	fi
	[[ -n $pkg ]] || { echo "vm: no kernel package behind $meta" >&2; exit 1; }
	ver=${pkg#linux-image-}
	out="$cache/vmlinuz-$ver"
	if [[ ! -s $out ]]; then
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null)
		dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" ./boot/
		cp "$tmp"/boot/vmlinuz-* "$out.part" && mv "$out.part" "$out"
		rm -rf "$tmp"
	fi
	echo "$out"
done
