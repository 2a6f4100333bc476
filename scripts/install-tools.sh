#!/usr/bin/env bash
# Installs what building and testing the collector needs and a fresh machine
# lacks: the pinned clang and llvm for regenerating the BPF objects, the libbpf
# and kernel headers the C side includes, and the collector builder (ocb).
# Running it again installs nothing that is already there.
set -euo pipefail

cd "$(dirname "$0")/.."

# The pinned versions; bpf/ and builder-config.yaml are written against them.
debian_packages=(clang-14 llvm-14 libbpf-dev linux-libc-dev)
ocb_module=go.opentelemetry.io/collector/cmd/builder
ocb_version=0.165.0
bin_dir="$PWD/build/bin"
GO="${GO:-go}"

log() {
	echo "install-tools: $*"
}

debian_installed() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

install_debian_packages() {
	local missing=()
	local pkg
	for pkg in "${debian_packages[@]}"; do
		if debian_installed "$pkg"; then
			log "$pkg is installed"
		else
			missing+=("$pkg")
		fi
	done
	if [ "${#missing[@]}" -eq 0 ]; then
		return
	fi

	# apt needs root; CI and the development machines run as root, and
	# elsewhere sudo is the ordinary way to get it.
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	log "installing ${missing[*]}"
	"${sudo[@]}" apt-get update
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

# ocb_current prints the version of the builder in build/bin, or nothing.
# The builder writes its version to stderr.
ocb_current() {
	if [ -x "$bin_dir/builder" ]; then
		"$bin_dir/builder" version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true
	fi
}

install_ocb() {
	local current
	current="$(ocb_current)"
	if [ "$current" = "$ocb_version" ]; then
		log "ocb $ocb_version is installed at $bin_dir/builder"
		return
	fi
	if [ -n "$current" ]; then
		log "replacing ocb $current with $ocb_version"
	fi
	log "installing ocb $ocb_version into $bin_dir"
	mkdir -p "$bin_dir"
	GOBIN="$bin_dir" "$GO" install "$ocb_module@v$ocb_version"
}

install_debian_packages
install_ocb
log "done"
