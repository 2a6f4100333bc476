package probe

// The BPF objects and their Go bindings are committed, so building needs no
// clang; `make generate` reruns this with the pinned clang.
//go:generate go tool bpf2go -cc clang-14 -target amd64 -go-package probe -type record -type op -type hook -type record_flag -type verdict -type counter -type record_kind -type proc_record -type process -type process_flag -type dedup_key -type dedup_window Fileaccess ../../bpf/fileaccess.c -- -I../../bpf -I/usr/include/x86_64-linux-gnu -Wall -Werror
