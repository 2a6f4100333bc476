#!/usr/bin/env bash
# Boots one of Debian's cloud kernels under qemu (software emulation, no KVM)
# and runs the receiver's end-to-end tests inside it in one attach mode, so
# that the fentry and kprobe modes can be proven on a machine whose own kernel
# offers only tracepoints.
#
# Usage: scripts/kernels/run-vm-tests.sh KERNEL MODE [TEST_PATTERN]
#   KERNEL        6.1 or 6.12
#   MODE          fentry, kprobe, tracepoint or auto
#   TEST_PATTERN  optional -test.run pattern, without spaces
# Environment:
#   VM_TIMEOUT    seconds before the VM is killed (default 600)
#   VM_ACCEL      qemu -accel value (default tcg,thread=single)
#
# Packages are downloaded once and kept under build/kernels/; the test binary
# and the initramfs are rebuilt on every run, so the VM always runs the tree as
# it is. The serial console is streamed to build/kernels/logs/KERNEL-MODE.log.
# Exits non-zero when the suite failed, the kernel oopsed, the VM timed out,
# or the VM stopped before the suite said it had finished.
set -euo pipefail
# Failures inside $(...) stop the script too.
shopt -s inherit_errexit

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$repo/build/kernels"
vm_timeout="${VM_TIMEOUT:-600}"
# Multi-threaded TCG lets one vCPU run stale code that the kernel has just
# patched with text_poke (the static key the sys_exit tracepoint turns on), and
# 6.12 then dies of an int3 oops in syscall_exit_to_user_mode_prepare; with one
# emulation thread for both vCPUs the patching is seen at once.
vm_accel="${VM_ACCEL:-tcg,thread=single}"

# The markers the VM's /init prints around the suite; the end marker carries
# the suite's exit code.
start_marker='@@ vm-tests start'
end_marker='@@ vm-tests end rc='

# Kernel options the tests rely on; the cloud kernels build all of them in, so
# the VM needs no modules.
required_config=(
	CONFIG_BLK_DEV_INITRD CONFIG_RD_GZIP CONFIG_SERIAL_8250_CONSOLE
	CONFIG_DEVTMPFS CONFIG_TMPFS CONFIG_PROC_FS CONFIG_SYSFS
	CONFIG_BPF_SYSCALL CONFIG_DEBUG_INFO_BTF CONFIG_BPF_JIT
	CONFIG_KPROBES CONFIG_KPROBE_EVENTS CONFIG_FTRACE_SYSCALLS
	CONFIG_FUNCTION_TRACER CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS
)

# The busybox applets the tests and /init call.
applets=(sh cat echo mount mkdir poweroff uname sleep ls id insmod true unshare nsenter)

# Modules the tests need that the cloud kernels build as modules.
modules=(kernel/fs/overlayfs/overlay.ko)

log() {
	echo "run-vm-tests: $*" >&2
}

# Logs each line of standard input, indented.
log_lines() {
	local line
	while IFS= read -r line; do
		log "  $line"
	done
}

die() {
	log "error: $*"
	exit 1
}

usage() {
	echo "usage: $0 KERNEL MODE [TEST_PATTERN]   (KERNEL: 6.1 | 6.12; MODE: fentry | kprobe | tracepoint | auto)" >&2
	exit 2
}

kernel_package() {
	case "$1" in
	6.1) echo linux-image-6.1.0-50-cloud-amd64 ;;
	6.12) echo linux-image-6.12.107+deb12-cloud-amd64-unsigned ;;
	*) usage ;;
	esac
}

apt_updated=false
apt_update_once() {
	if ! "$apt_updated"; then
		log "refreshing the package lists"
		apt-get update -q >/dev/null
		apt_updated=true
	fi
}

# Installs the Debian package $2 when the command $1 is missing.
ensure_tool() {
	local tool="$1" package="$2"
	if command -v "$tool" >/dev/null; then
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "$tool is missing; install $package (needs root)"
	log "$tool is missing; installing $package"
	apt_update_once
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" >/dev/null
	command -v "$tool" >/dev/null || die "installing $package did not provide $tool"
}

# Downloads and unpacks a Debian package once; prints the directory it is
# unpacked in. A half-finished unpack is never taken for a finished one: the
# directory appears only once dpkg-deb has succeeded.
fetch_package() {
	local package="$1"
	local debs="$cache/debs/$package" root="$cache/pkgs/$package"
	if [ -d "$root" ]; then
		echo "$root"
		return
	fi

	mkdir -p "$debs" "$cache/pkgs"
	if ! compgen -G "$debs/*.deb" >/dev/null; then
		log "downloading $package"
		# A stale package list names versions the archive no longer has.
		if ! (cd "$debs" && apt-get download -q "$package" >/dev/null 2>&1); then
			apt_update_once
			(cd "$debs" && apt-get download -q "$package" >/dev/null) ||
				die "cannot download $package; check its name with: apt-cache policy $package"
		fi
	fi
	local deb
	deb="$(compgen -G "$debs/*.deb" | head -n 1)"

	log "unpacking $(basename "$deb")"
	rm -rf "$root.partial"
	if ! dpkg-deb -x "$deb" "$root.partial"; then
		# A damaged download is fetched again on the next run.
		rm -f "$deb"
		die "cannot unpack $deb"
	fi
	mv "$root.partial" "$root"
	echo "$root"
}

# Prints the one file matching a glob, or fails saying what is missing.
only_match() {
	local pattern="$1" what="$2"
	local matches
	mapfile -t matches < <(compgen -G "$pattern")
	[ "${#matches[@]}" -eq 1 ] || die "expected one $what at $pattern, found ${#matches[@]}"
	echo "${matches[0]}"
}

check_kernel_config() {
	local config="$1" option missing=()
	for option in "${required_config[@]}"; do
		grep -qx "$option=y" "$config" || missing+=("$option")
	done
	[ "${#missing[@]}" -eq 0 ] ||
		die "$(basename "$config") lacks built-in ${missing[*]}; the VM loads no modules"
}

build_test_binary() {
	local out="$1" revision
	revision="$(git -C "$repo" describe --always --dirty 2>/dev/null || echo "no git")"
	log "building the static test binary from the tree at $revision"
	(cd "$repo" && CGO_ENABLED=0 go test -c -o "$out" .) || die "building the test binary failed"
}

write_init() {
	local init="$1" test_timeout="$2"
	# The kernel passes the words after "--" on its command line to /init as
	# arguments: the attach mode, then an optional -test.run pattern.
	cat >"$init" <<EOF
#!/bin/sh
# /init of the test VM: mounts what the tests need, runs them once, powers off.
export PATH=/bin
export HOME=/root

try_mount() {
	mount "\$@" || echo "init: mount \$* failed"
}

try_mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
try_mount -t proc proc /proc
try_mount -t sysfs sysfs /sys
try_mount -t tmpfs -o mode=1777 tmpfs /tmp
try_mount -t tracefs tracefs /sys/kernel/tracing
# Some loaders look for tracefs under debugfs/tracing instead.
try_mount -t debugfs debugfs /sys/kernel/debug

for module in /lib/modules/*.ko; do
	insmod "\$module" || echo "init: insmod \$module failed"
done

cd /src || echo "init: no source tree at /src"
mode="\$1"
pattern="\$2"
echo "$start_marker: kernel \$(uname -r), attach mode \$mode"
# Both kernels have BPF trampolines, so auto must take fentry.
FILE_ACCESS_TEST_ATTACH="\$mode" FILE_ACCESS_TEST_STRICT=1 FILE_ACCESS_TEST_EXPECT_AUTO=fentry \\
	/opt/fileaccess.test -test.v -test.count=1 \\
	-test.timeout=${test_timeout}s \${pattern:+-test.run=\$pattern}
echo "$end_marker\$?"
poweroff -f
EOF
	chmod 0755 "$init"
}

# Copies the modules the tests need into the image, uncompressed, so that
# busybox insmod can load them.
copy_modules() {
	local kernel_root="$1" stage="$2" module found
	mkdir -p "$stage/lib/modules"
	for module in "${modules[@]}"; do
		found="$(only_match "$kernel_root/lib/modules/*/$module*" "module $module")"
		case "$found" in
		*.xz) xz -dc "$found" >"$stage/lib/modules/$(basename "$module")" ;;
		*.zst) zstd -dcq "$found" >"$stage/lib/modules/$(basename "$module")" ;;
		*) cp "$found" "$stage/lib/modules/" ;;
		esac
	done
}

build_initramfs() {
	local busybox="$1" test_binary="$2" test_timeout="$3" out="$4" kernel_root="$5"
	local stage="$cache/initramfs"

	rm -rf "$stage"
	mkdir -p "$stage"/{bin,dev,etc,opt,proc,root,sys,tmp}
	cp "$busybox" "$stage/bin/busybox"
	local applet
	for applet in "${applets[@]}"; do
		ln -s busybox "$stage/bin/$applet"
	done
	cp "$test_binary" "$stage/opt/fileaccess.test"
	copy_modules "$kernel_root" "$stage"

	# go test runs a package's tests in its source directory, and some read
	# files from there (testdata/, metadata.yaml, go.mod).
	mkdir -p "$stage/src"
	tar -C "$repo" --exclude=./build --exclude=./.git -cf - . | tar -C "$stage/src" -xf -

	# Users for cat /etc/passwd and for the test that drops to uid 65534.
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"

	# The kernel opens /dev/console for /init before devtmpfs is mounted.
	if [ "$(id -u)" -eq 0 ]; then
		mknod -m 0600 "$stage/dev/console" c 5 1
	fi
	write_init "$stage/init" "$test_timeout"

	(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1 >"$out.partial")
	mv "$out.partial" "$out"
}

# Runs the VM with the console streamed to the terminal and to the log;
# returns the status of timeout(1), which is 124 when the VM was killed.
boot() {
	local kernel="$1" initrd="$2" mode="$3" pattern="$4" console_log="$5"
	local status
	set +e
	timeout -k 10 "$vm_timeout" qemu-system-x86_64 \
		-accel "$vm_accel" -m 1G -smp 2 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet -- $mode $pattern" \
		</dev/null 2>&1 | tee "$console_log"
	status="${PIPESTATUS[0]}"
	set -e
	return "$status"
}

report() {
	local console_log="$1" vm_status="$2" label="$3"
	# The serial console ends lines with CR LF, and the firmware's screen
	# clearing can share a line with the first marker.
	local console
	console="$(tr -d '\r' <"$console_log")"

	if [ "$vm_status" -eq 124 ] || [ "$vm_status" -eq 137 ]; then
		log "$label: the VM timed out after ${vm_timeout}s; console in $console_log"
		return 1
	fi
	local crash
	crash="$(grep -a -m 3 -E 'Kernel panic|Oops:|BUG:' <<<"$console" || true)"
	if [ -n "$crash" ]; then
		log "$label: the kernel crashed:"
		log_lines <<<"$crash"
		log "$label: the last test started was: $(grep -a '=== RUN' <<<"$console" | tail -n 1 || true)"
		log "$label: a kernel that oopsed proves nothing; console in $console_log"
		return 1
	fi

	local end
	end="$(grep -a -o "${end_marker}[0-9]*" <<<"$console" | tail -n 1 || true)"
	if [ -z "$end" ]; then
		if grep -aq "$start_marker" <<<"$console"; then
			log "$label: the VM stopped before the suite finished (qemu status $vm_status); console in $console_log"
		else
			log "$label: the VM stopped before the suite started (qemu status $vm_status); console in $console_log"
		fi
		return 1
	fi

	local rc="${end#"$end_marker"}" passed failed skipped
	passed="$(grep -ac -- '--- PASS' <<<"$console" || true)"
	failed="$(grep -ac -- '--- FAIL' <<<"$console" || true)"
	skipped="$(grep -ac -- '--- SKIP' <<<"$console" || true)"
	log "$label: $passed passed, $failed failed, $skipped skipped (tests and subtests); suite exit code $rc"
	if [ "$rc" != 0 ]; then
		grep -a -- '--- FAIL' <<<"$console" | log_lines || true
		log "$label: the suite failed; console in $console_log"
		return 1
	fi
	log "$label: the suite passed; console in $console_log"
}

main() {
	if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
		usage
	fi
	local version="$1" mode="$2" pattern="${3:-}"
	case "$mode" in
	fentry | kprobe | tracepoint | auto) ;;
	*) usage ;;
	esac
	[[ "$pattern" != *[[:space:]]* ]] || die "the test pattern cannot hold spaces: it travels on the kernel command line"
	if ! [[ "$vm_timeout" =~ ^[0-9]+$ ]] || [ "$vm_timeout" -le 120 ]; then
		die "VM_TIMEOUT must be a number of seconds above 120"
	fi
	local package
	package="$(kernel_package "$version")"
	local label="kernel $version, mode $mode"

	mkdir -p "$cache/logs"
	# Runs share the staging directory and the test binary; one at a time.
	exec 9>"$cache/.lock"
	flock 9

	SECONDS=0
	ensure_tool qemu-system-x86_64 qemu-system-x86
	ensure_tool cpio cpio
	local kernel_root busybox_root
	kernel_root="$(fetch_package "$package")"
	busybox_root="$(fetch_package busybox-static)"
	local kernel config busybox
	kernel="$(only_match "$kernel_root/boot/vmlinuz-*" "kernel image")"
	config="$(only_match "$kernel_root/boot/config-*" "kernel config")"
	busybox="$(only_match "$busybox_root/bin/busybox" "busybox binary")"
	check_kernel_config "$config"
	log "tools and packages ready in ${SECONDS}s"

	SECONDS=0
	local test_binary="$cache/fileaccess.test" initrd="$cache/initramfs-$version.cpio.gz"
	build_test_binary "$test_binary"
	# The suite gets a minute less than the VM, so a hung test still prints
	# its goroutines and the end marker before the VM is killed.
	build_initramfs "$busybox" "$test_binary" "$((vm_timeout - 60))" "$initrd" "$kernel_root"
	log "test binary and initramfs built in ${SECONDS}s"

	SECONDS=0
	local console_log="$cache/logs/$version-$mode.log"
	log "booting $(basename "$kernel") with attach mode $mode (timeout ${vm_timeout}s)"
	local vm_status=0
	boot "$kernel" "$initrd" "$mode" "$pattern" "$console_log" || vm_status=$?
	log "boot and suite took ${SECONDS}s"

	report "$console_log" "$vm_status" "$label"
}

main "$@"
