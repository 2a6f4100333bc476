//go:build ignore
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

/*
 * File access programs. Every attach mode funnels into report(): it resolves
 * the file's path relative to the task's root, matches it against the prefix
 * trie, and only for a watched path fills in the process and sends a record.
 *
 *   fentry mode:     fexit on the LSM file hooks (arguments and return value at once)
 *   kprobe mode:     kprobe filters and remembers the arguments, kretprobe reports
 *   tracepoint mode: sys_exit, with the file looked up in the task's fd table
 */

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Longest path kept, as the kernel's PATH_MAX; longer ones keep their head. */
#define PATH_CAP 4096
/* Longest path component, as the kernel's NAME_MAX. */
#define NAME_CAP 255
#define NAME_MASK 255
/* Components kept of a deeper path: the ones nearest the root, so prefixes still match. */
#define MAX_COMPONENTS 64
#define COMPONENT_MASK (MAX_COMPONENTS - 1)
/*
 * Dentry and mount hops before a walk gives up and the access is counted as
 * unresolved: a path of PATH_MAX bytes has at most 2048 components. bpf_loop
 * verifies its callback once, so the bound costs nothing until a path is deep.
 */
#define MAX_WALK 4096
/*
 * Record data holds the file path, then the executable path, each at most
 * PATH_CAP. Offsets are masked with DATA_MASK so the verifier can bound them;
 * the slack after the mask keeps a masked offset plus one component in bounds.
 */
#define DATA_MASK (4 * PATH_CAP - 1)
#define DATA_SIZE (4 * PATH_CAP + NAME_CAP + 1)
/* argv bytes kept of an exec, NUL-separated as the kernel has them; the head is kept. */
#define ARGS_CAP (PATH_CAP - 1)
/* The kernel's LPM trie takes keys of at most this many data bytes. */
#define PREFIX_KEY_MAX 256
#define MAX_PREFIXES 128

#define MAY_WRITE 0x2
#define MAY_READ 0x4
#define MAP_ANONYMOUS 0x20
#define O_TRUNC 01000
#define O_PATH 010000000
#define S_IFMT 00170000
#define S_IFREG 0100000
/* fmode_t bit the kernel sets on a file the open itself created; such an open does not truncate. */
#define FMODE_CREATED (1 << 20)
#define MAX_ERRNO 4095
/* A system call interrupted by a signal returns these and is restarted: the retry is reported. */
#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516
/* x86 thread_info status bit of a task in a 32-bit (int 0x80) system call. */
#define TS_COMPAT 0x0002
/* Ring buffer output flags and query, from the kernel's UAPI. */
#define BPF_RB_NO_WAKEUP 1
#define BPF_RB_FORCE_WAKEUP 2
#define BPF_RB_AVAIL_DATA 0

/* Superblock magics of the pseudo filesystems behind anonymous files. */
#define PIPEFS_MAGIC 0x50495045
#define SOCKFS_MAGIC 0x534F434B
#define ANON_INODE_FS_MAGIC 0x09041934
#define EPERM 1
#define EACCES 13

/* x86-64 system call numbers seen by the tracepoint mode. */
enum {
	NR_read = 0,
	NR_write = 1,
	NR_open = 2,
	NR_mmap = 9,
	NR_pread64 = 17,
	NR_pwrite64 = 18,
	NR_readv = 19,
	NR_writev = 20,
	NR_sendfile = 40,
	NR_truncate = 76,
	NR_ftruncate = 77,
	NR_rename = 82,
	NR_creat = 85,
	NR_openat = 257,
	NR_renameat = 264,
	NR_splice = 275,
	NR_fallocate = 285,
	NR_preadv = 295,
	NR_pwritev = 296,
	NR_renameat2 = 316,
	NR_copy_file_range = 326,
	NR_preadv2 = 327,
	NR_pwritev2 = 328,
	NR_open_by_handle_at = 304,
	NR_openat2 = 437,
};

/* i386 rename numbers: a 32-bit rename moves files as any other does. */
enum {
	NR32_rename = 38,
	NR32_renameat = 302,
	NR32_renameat2 = 353,
};

enum op {
	OP_READ = 1,
	OP_WRITE = 2,
	OP_MMAP = 3,
	OP_TRUNCATE = 4,
};

enum hook {
	HOOK_FILE_PERMISSION = 1,
	HOOK_MMAP_FILE = 2,
	HOOK_PATH_TRUNCATE = 3,
	HOOK_FILE_TRUNCATE = 4,
	HOOK_SYS_EXIT = 5,
};

enum record_kind {
	KIND_FILE = 1,
	KIND_EXEC = 2,
	KIND_CLONE = 3,
	KIND_EXIT = 4,
};

enum record_flag {
	RECORD_PATH_TRUNCATED = 1,
	RECORD_EXE_TRUNCATED = 2,
	RECORD_ARGS_TRUNCATED = 4,
	RECORD_CWD_TRUNCATED = 8,
	/* The process descends from its container's init: see struct process. */
	RECORD_CONTAINER_INIT = 16,
	/* The record opens a dedup window: repeats of it are counted in the dedup map. */
	RECORD_DEDUP = 32,
	/* The file was unlinked while open: its path is the one it had. */
	RECORD_PATH_DELETED = 64,
	RECORD_EXE_DELETED = 128,
	/*
	 * The executable is on a kernel-internal mount (memfd_create(2), shared
	 * memory): exe_len bytes of its own name, like "memfd:x", not a path.
	 */
	RECORD_EXE_ANONYMOUS = 256,
	/*
	 * The path is the one a truncate(2) named, as written, with the working
	 * directory in front of a relative one: it may hold "..", "." or symbolic
	 * links, so the prefix filter has not judged it; user space resolves it
	 * and filters it.
	 */
	RECORD_PATH_AS_WRITTEN = 512,
	/*
	 * The executable's path is left out (exe_len is 0): user space has it
	 * from the process's exec record, see PROCESS_EXEC_SENT. The deleted
	 * flag is still the access's own.
	 */
	RECORD_EXE_OF_EXEC = 1024,
};

enum verdict {
	VERDICT_INCLUDE = 1,
	VERDICT_EXCLUDE = 2,
};

enum counter {
	COUNTER_RING_FULL = 0,
	COUNTER_PATH_UNRESOLVED = 1,
	COUNTER_PENDING_FULL = 2,
	/* Exec, clone and exit records apart, so the file accesses lost stay exact. */
	COUNTER_PROCESS_RING_FULL = 3,
	NR_COUNTERS = 4,
};

/*
 * A file access in the ring buffer, followed by path_len bytes of file path and
 * exe_len bytes of executable path, neither NUL-terminated. key_bits comes
 * last so that it and the path after it form an LPM trie key in place. Every
 * ring record starts with its kind.
 */
struct record {
	u32 kind;
	u32 auid;
	u64 boot_ns;
	u64 exec_ns;	/* the process's key: see struct process */
	u64 cgroup_id;
	s64 ret;
	u64 arg;	/* permission mask, or mmap protection */
	u64 mmap_flags;
	u64 ino;
	u32 pid;
	u32 tid;
	u32 ppid;
	u32 uid;
	u32 euid;
	u32 gid;
	u32 egid;
	u32 mode;
	u16 op;
	u16 hook;
	u16 syscall_nr;
	u16 path_len;
	u16 exe_len;
	u16 flags;
	char comm[16];
	u32 key_bits;
};

_Static_assert(sizeof(struct record) == __builtin_offsetof(struct record, key_bits) + sizeof(u32),
	       "the path must follow key_bits directly");

/*
 * An exec, a new process (clone) or a process's end (exit). An exec is
 * followed by exe_len bytes of executable path, cwd_len of working directory
 * and args_len of NUL-separated argv. Padded to the file record's size so that
 * both share the scratch space's data.
 */
struct proc_record {
	u32 kind;
	u32 flags;
	u64 event_ns;
	u64 exec_ns;
	u64 parent_exec_ns;
	u64 start_ns;	/* the process's start, CLOCK_BOOTTIME */
	u64 cgroup_id;
	u32 pid;
	u32 tid;
	u32 ppid;
	u32 ns_pid;	/* the pid inside the process's own pid namespace */
	u32 uid;
	u32 euid;
	u32 gid;
	u32 egid;
	u32 auid;
	s32 exit_code;	/* as wait(2) reports it: status << 8, or the signal */
	u16 exe_len;
	u16 cwd_len;
	u16 args_len;
	u16 pad;
	char comm[16];
	u8 reserved[16];
};

_Static_assert(sizeof(struct proc_record) == sizeof(struct record),
	       "process and file records share the scratch space's data");

/*
 * What the kernel keeps of each process, by tgid: the key user space finds
 * its context under. exec_ns is when it last exec'd, or when it was cloned
 * (or, for processes that ran before the collector, its start as procfs
 * tells it); with the pid it is unique over the node's uptime.
 */
struct process {
	u64 exec_ns;
	u64 parent_exec_ns;
	/*
	 * The mm's executable file (a kernel address, compared only) when the
	 * exec or clone record was written: see PROCESS_EXEC_SENT.
	 */
	u64 exe_file;
	u32 flags;
	u32 pad;
};

/*
 * A process is in its container's init tree when it is pid 1 of a pid
 * namespace below the host's, or was forked by one that is. Processes entered
 * from outside (kubectl exec, nsenter) have a parent outside the namespace and
 * are not: they are what people do in a container, the init tree is what the
 * image does by itself.
 */
enum process_flag {
	PROCESS_CONTAINER_INIT = 1,
	/*
	 * The process's exec record, or the clone record of a child of such a
	 * process, is in the ring: user space knows the executable's path as the
	 * kernel walks it, so a file record need not carry it while the task's
	 * executable is still exe_file. It is not, in the hook modes, for the
	 * maps the kernel makes of the new image during execve, before the exec
	 * tracepoint; nor after prctl(PR_SET_MM_EXE_FILE). Processes seeded from
	 * procfs are not marked: their path there is the collector's view.
	 */
	PROCESS_EXEC_SENT = 2,
};

struct prefix_key {
	u32 bits;
	u8 data[PREFIX_KEY_MAX];
};

/*
 * The state of a path walk and of writing it out. It is kept in map memory, not
 * on the stack: verifiers before 6.7 follow a bpf_loop callback only once, and
 * would take what it leaves on the stack as known and prune the branches on it.
 */
struct walk {
	u64 names[MAX_COMPONENTS]; /* kernel pointers to the names, a ring: see walk_step */
	u32 lens[MAX_COMPONENTS];
	u64 dentry;
	u64 vfsmnt;
	u64 root_dentry;
	u64 root_mnt;
	u64 mnt_root;	/* the root dentry of vfsmnt */
	u32 n;		/* components seen, possibly more than MAX_COMPONENTS */
	u32 status;
	u32 start;	/* where in data the path begins */
	u32 off;	/* where the next component goes */
	u32 keep;	/* components to write */
	u32 truncated;
};

/*
 * The unwatched-file cache: most accesses on a node are to files no prefix
 * matches, and a verdict remembered for the file spares them the path walk.
 * A file's path as a task sees it is fixed by the file's dentry and mount and
 * the task's root, the key, until a rename or a mount change: a verdict holds
 * only while the counts of both are what they were when the path was walked.
 * It also records the dentry's parent, name and inode, so that a dentry freed
 * and reused for another file does not inherit it, and it expires after
 * VERDICT_TTL_NS, which bounds the life of one made stale by a rename no
 * program saw (tracepoint mode: io_uring renames).
 */
#define VERDICT_CACHE_SIZE 8192
#define VERDICT_TTL_NS 1000000000ULL

struct verdict_key {
	u64 dentry;
	u64 mnt;
	u64 root_dentry;
	u64 root_mnt;
};

struct cached_verdict {
	u64 parent;
	u64 hash_len;
	u64 inode;
	u64 renames;	/* renames_seen when the path was walked */
	u64 mounts;	/* the file's mount namespace's event count then */
	u64 expires_ns;
};

struct scratch {
	union {
		struct record rec;
		struct proc_record proc;
	};
	char data[DATA_SIZE];
	struct walk walk;
	struct verdict_key verdict_key;
	struct cached_verdict verdict;
};

/*
 * Dedup: the accesses of one process to one file with one operation within
 * one window of dedup_window_ns (aligned to boot time, so user space can tell
 * when a window has ended) make one record. The first is sent, flagged
 * RECORD_DEDUP; the rest only count in the map, which user space reads and
 * empties once the window is over. The inode pointer names the file while it
 * is open, which it is during every access.
 */
struct dedup_key {
	u64 inode;
	u64 exec_ns;
	u64 window;
	u32 tgid;
	u16 op;
	u16 failed;
};

struct dedup_window {
	u64 first_ns;	/* boot_ns of the record that opened the window */
	u64 repeats;	/* accesses after that one */
	u32 tgid;
	u32 pad;
};

/* A hook's arguments, kept from kprobe to kretprobe. */
struct pending_key {
	u64 pid_tgid;
	u32 hook;
	u32 pad;
};

struct pending {
	u64 target;
	u64 arg;
	u64 mmap_flags;
	u64 op;
};

/*
 * Set by the loader: a bit (1 << op) for every watched operation, the
 * collector's own pid, and whether container init trees are left out.
 */
const volatile u32 watched_ops = 0;
const volatile u32 self_tgid = 0;
const volatile u32 exclude_container_init = 0;
/* The dedup window in nanoseconds; 0 turns dedup off. */
const volatile u64 dedup_window_ns = 0;
/*
 * Unread bytes in the ring at which the reader is woken: a quarter of the
 * ring; three quarters, past which it is woken again at every
 * 1 << urgent_shift bytes (a 64th of the ring); and the last 64th, where
 * every record wakes it. Set by the loader.
 */
const volatile u64 wakeup_bytes = 1;
const volatile u64 urgent_bytes = 1;
const volatile u32 urgent_shift = 63;
const volatile u64 full_bytes = 1;

/*
 * bpf_rdonly_cast makes a BTF-typed pointer of any value, and the kernel turns
 * each load through it into a plain load that tolerates faults: far cheaper
 * than the bpf_probe_read_kernel call per field that path walks and cache
 * checks are otherwise made of. Programs with a BTF-typed context (tp_btf,
 * fexit) may call it, on kernels that have it (6.2 and later): the loader
 * sets btf_casts when the running kernel does. It is weak, so the object
 * still loads where it is missing; the calls are then in code the verifier
 * drops, since btf_casts is a constant to it.
 */
extern void *bpf_rdonly_cast(const void *obj__ign, u32 btf_id__k) __ksym __weak;
const volatile u32 btf_casts = 0;

#define CAST(ptr, type) ((type *)bpf_rdonly_cast((const void *)(ptr), bpf_core_type_id_kernel(type)))

/* Whether a program reads through casts: typed is a constant of each program. */
#define CASTS(typed) ((typed) && btf_casts)

/* src->a->b...: plain loads through a cast when cast holds, else a helper call per pointer. */
#define KREAD(cast, type, src, a, ...)							\
	((cast) ? ___arrow(CAST(src, type), a, ##__VA_ARGS__)				\
		: BPF_CORE_READ((type *)(src), a, ##__VA_ARGS__))

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* replaced by ring_buffer_size at load */
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MAX_PREFIXES);
	__type(key, struct prefix_key);
	__type(value, u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct pending_key);
	__type(value, struct pending);
} pending_hooks SEC(".maps");

/*
 * Open dedup windows. LRU, so that windows user space has not emptied yet
 * cannot stop new ones from opening; user space sizes it to hold every window
 * of a few seconds on a busy node.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct dedup_key);
	__type(value, struct dedup_window);
} dedup_windows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VERDICT_CACHE_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct verdict_key);
	__type(value, struct cached_verdict);
} unwatched_files SEC(".maps");

/* Renames completed since load: each may have moved a file under a prefix. */
volatile u64 renames_seen = 0;

/* Live processes by tgid. LRU, so that a missed exit cannot fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, struct process);
} processes SEC(".maps");

/* Forces bpf2go to emit Go types for these. */
const struct record *unused_record __attribute__((unused));
const struct proc_record *unused_proc_record __attribute__((unused));
const enum record_kind *unused_kind __attribute__((unused));
const enum op *unused_op __attribute__((unused));
const enum hook *unused_hook __attribute__((unused));
const enum record_flag *unused_flag __attribute__((unused));
const enum verdict *unused_verdict __attribute__((unused));
const enum process_flag *unused_process_flag __attribute__((unused));
const struct dedup_key *unused_dedup_key __attribute__((unused));
const struct dedup_window *unused_dedup_window __attribute__((unused));
const enum counter *unused_counter __attribute__((unused));

/*
 * Returns v & mask with the AND done in asm: clang drops a mask it can prove
 * redundant, and the verifier, which tracks registers and not C, then sees an
 * unbounded offset.
 */
static __always_inline u32 bounded(u32 v, u32 mask)
{
	u64 x = v;

	asm volatile("%[x] &= %[mask]" : [x] "+r"(x) : [mask] "i"(mask));
	return x;
}

static __always_inline void count_n(u32 which, u64 n)
{
	u64 *value = bpf_map_lookup_elem(&counters, &which);

	if (value)
		*value += n;
}

static __always_inline void count(u32 which)
{
	count_n(which, 1);
}

/*
 * Whether a record of size bytes wakes the reader. A wakeup is an interrupt
 * the CPU sends itself, which costs microseconds in a virtual machine and is
 * paid by the process whose access is recorded, and the reader looks at the
 * ring at least every flush interval anyway. So it is woken when the unread
 * bytes cross a quarter of the ring; should CPUs writing at once all have
 * missed that crossing, each time they cross another 64th past three
 * quarters; and by every record in the last 64th, where the ring is about to
 * drop records. A wakeup per record from three quarters on, as before, made
 * every access pay an interrupt whenever the reader fell behind.
 *
 * A record takes its size plus an 8-byte header in the ring, rounded up to 8:
 * the crossings are counted over that, or a mark at a record's tail would be
 * skipped, and with records of one length it would be skipped every time.
 */
static __always_inline u64 wakeup(u32 size)
{
	u64 unread = bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA);
	u64 after = unread + ((size + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL);

	if (unread < wakeup_bytes && after >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	if (unread >= urgent_bytes && (unread >> urgent_shift) != (after >> urgent_shift))
		return BPF_RB_FORCE_WAKEUP;
	if (after >= full_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline struct mount *real_mount(struct vfsmount *vfsmnt)
{
	return (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
}

static __always_inline struct vfsmount *vfsmount_of(struct mount *mnt)
{
	return (void *)mnt + bpf_core_field_offset(struct mount, mnt);
}

struct ids {
	u32 uid, gid, suid, sgid, euid, egid;
};

/* The task's real and effective user and group ids, in one read where the layout allows. */
static __always_inline void read_ids(struct task_struct *task, struct ids *ids, bool typed)
{
	const struct cred *cred;
	u32 uid_at = bpf_core_field_offset(struct cred, uid);

	if (typed) {
		cred = task->cred;
		ids->uid = cred->uid.val;
		ids->gid = cred->gid.val;
		ids->euid = cred->euid.val;
		ids->egid = cred->egid.val;
		return;
	}
	cred = BPF_CORE_READ(task, cred);
	if (bpf_core_field_offset(struct cred, gid) == uid_at + 4 &&
	    bpf_core_field_offset(struct cred, euid) == uid_at + 16 &&
	    bpf_core_field_offset(struct cred, egid) == uid_at + 20) {
		if (bpf_probe_read_kernel(ids, sizeof(*ids), (void *)cred + uid_at))
			__builtin_memset(ids, 0, sizeof(*ids));
		return;
	}
	ids->uid = BPF_CORE_READ(cred, uid.val);
	ids->gid = BPF_CORE_READ(cred, gid.val);
	ids->euid = BPF_CORE_READ(cred, euid.val);
	ids->egid = BPF_CORE_READ(cred, egid.val);
}

/* Kernel-internal mounts have no namespace: NULL, or the error pointer MNT_NS_INTERNAL. */
static __always_inline bool in_namespace(struct mount *mnt, bool cast)
{
	u64 ns = (u64)KREAD(cast, struct mount, mnt, mnt_ns);

	return ns != 0 && ns < (u64)-MAX_ERRNO;
}

/*
 * A dentry's parent, name and inode. Every kernel lays d_parent, d_name and
 * d_inode out one after the other, so they come in one helper call, which is
 * what most of a path walk's cost is; the CO-RE offsets are checked, and
 * another layout is read field by field.
 */
struct dentry_head {
	u64 parent;
	u64 hash_len;	/* the name's hash, and its length in the upper half */
	u64 name;
	u64 inode;
};

static __always_inline void read_dentry_head(struct dentry *dentry, struct dentry_head *head, bool cast)
{
	u32 parent_at = bpf_core_field_offset(struct dentry, d_parent);

	if (cast) {
		struct dentry *d = CAST(dentry, struct dentry);

		head->parent = (u64)d->d_parent;
		head->hash_len = d->d_name.hash_len;
		head->name = (u64)d->d_name.name;
		head->inode = (u64)d->d_inode;
		return;
	}
	if (bpf_core_field_offset(struct dentry, d_name) == parent_at + 8 &&
	    bpf_core_field_offset(struct dentry, d_inode) == parent_at + 24) {
		if (bpf_probe_read_kernel(head, sizeof(*head), (void *)dentry + parent_at))
			__builtin_memset(head, 0, sizeof(*head));
		return;
	}
	head->parent = (u64)BPF_CORE_READ(dentry, d_parent);
	head->hash_len = BPF_CORE_READ(dentry, d_name.hash_len);
	head->name = (u64)BPF_CORE_READ(dentry, d_name.name);
	head->inode = (u64)BPF_CORE_READ(dentry, d_inode);
}

/*
 * d_unlinked(): removed from the dcache's hash by an unlink, and not a root.
 * The caller passes the dentry's parent, which it often has read already.
 */
static __always_inline bool unlinked(struct dentry *dentry, u64 parent, bool cast)
{
	return !KREAD(cast, struct dentry, dentry, d_hash.pprev) && parent != (u64)dentry;
}

enum walk_status {
	WALK_RUNNING = 0,
	WALK_DONE = 1,
	WALK_PSEUDO = 2, /* pipes, sockets, internal mounts: no path a process sees */
};

/* The bpf_loop context: where the state is, on the stack as bpf_loop wants. */
struct loop_ctx {
	struct walk *w;
	char *data;
};

/* One step of the climb prepend_path() makes in the kernel: a component, or a mount crossing. */
static __always_inline long walk_one(struct loop_ctx *c, bool cast)
{
	struct walk *w = c->w;
	struct dentry *dentry = (void *)w->dentry;
	struct vfsmount *vfsmnt = (void *)w->vfsmnt;
	struct dentry *parent, *mnt_root;
	struct dentry_head head;
	struct mount *mnt, *up;
	u32 slot;

	if (w->dentry == w->root_dentry && w->vfsmnt == w->root_mnt) {
		w->status = WALK_DONE;
		return 1;
	}

	read_dentry_head(dentry, &head, cast);
	parent = (void *)head.parent;
	mnt_root = (void *)w->mnt_root;
	if (dentry == mnt_root || dentry == parent) {
		if (dentry != mnt_root) {
			w->status = WALK_PSEUDO;
			return 1;
		}
		mnt = real_mount(vfsmnt);
		up = KREAD(cast, struct mount, mnt, mnt_parent);
		if (up == mnt) {
			/*
			 * A mount that is its own parent is a namespace's root, and the
			 * file is outside the task's root; or it is in no namespace: a
			 * kernel-internal mount, like the private ones overlayfs reads
			 * its layers through. Those inner accesses repeat an outer one
			 * on the overlay file, so they are not reported.
			 */
			w->status = in_namespace(mnt, cast) ? WALK_DONE : WALK_PSEUDO;
			return 1;
		}
		w->dentry = (u64)KREAD(cast, struct mount, mnt, mnt_mountpoint);
		w->vfsmnt = (u64)vfsmount_of(up);
		w->mnt_root = (u64)KREAD(cast, struct mount, up, mnt.mnt_root);
		return 0;
	}

	/* Slots wrap, so after a deep walk the ring holds the components nearest the root. */
	slot = bounded(w->n, COMPONENT_MASK);
	w->names[slot] = head.name;
	w->lens[slot] = head.hash_len >> 32;
	w->n++;
	w->dentry = (u64)parent;
	return 0;
}

/* bpf_loop callbacks: one with helper reads, one with plain loads through casts. */
static long walk_step(u32 i, struct loop_ctx *c)
{
	return walk_one(c, false);
}

static long walk_step_cast(u32 i, struct loop_ctx *c)
{
	return walk_one(c, true);
}

/* Writes "/name" for the k-th component counted from the root. */
static long emit_step(u32 k, struct loop_ctx *c)
{
	struct walk *w = c->w;
	u32 slot, len;

	if (k >= w->keep)
		return 1;

	slot = bounded(w->n - 1 - k, COMPONENT_MASK);
	len = w->lens[slot];
	if (len > NAME_CAP)
		len = NAME_CAP;
	if (w->off - w->start + 1 + len > PATH_CAP) {
		w->truncated = 1;
		return 1;
	}

	c->data[bounded(w->off, DATA_MASK)] = '/';
	bpf_probe_read_kernel(&c->data[bounded(w->off + 1, DATA_MASK)], bounded(len, NAME_MASK),
			      (const void *)w->names[slot]);
	w->off += 1 + len;
	return 0;
}

enum {
	PATH_PSEUDO = -1,	/* no path a process sees */
	PATH_UNRESOLVED = -2,	/* the walk did not reach a root within MAX_WALK hops */
};

/*
 * Writes the name of a file on a kernel-internal mount at data[start] and
 * returns its length: memfd_create(2) names its files "memfd:NAME", which no
 * path prefix can match since it does not start with '/'.
 */
static __always_inline int anonymous_name(struct scratch *s, u32 start, struct dentry *dentry)
{
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	u32 len = BPF_CORE_READ(dentry, d_name.len);

	if (len == 0 || len > NAME_CAP)
		return 0;
	if (bpf_probe_read_kernel(&s->data[bounded(start, DATA_MASK)], bounded(len, NAME_MASK), name))
		return 0;
	return len;
}

/*
 * Writes the path of target, as seen from root, at data[start]. Returns its
 * length, or PATH_PSEUDO or PATH_UNRESOLVED; s->walk.truncated tells whether
 * components were left out.
 */
static __always_inline int resolve_path(struct scratch *s, u32 start, struct path *target,
					struct path *root, bool cast)
{
	struct walk *w = &s->walk;
	struct loop_ctx c = { .w = w, .data = s->data };

	w->truncated = 0;
	w->dentry = (u64)target->dentry;
	w->vfsmnt = (u64)target->mnt;
	w->root_dentry = (u64)root->dentry;
	w->root_mnt = (u64)root->mnt;
	w->mnt_root = (u64)KREAD(cast, struct vfsmount, target->mnt, mnt_root);
	w->n = 0;
	w->status = WALK_RUNNING;
	if (cast)
		bpf_loop(MAX_WALK, walk_step_cast, &c, 0);
	else
		bpf_loop(MAX_WALK, walk_step, &c, 0);
	if (w->status == WALK_PSEUDO)
		return PATH_PSEUDO;
	if (w->status != WALK_DONE)
		return PATH_UNRESOLVED;

	if (w->n == 0) {
		s->data[bounded(start, DATA_MASK)] = '/';
		return 1;
	}

	w->start = start;
	w->off = start;
	w->keep = w->n;
	if (w->n > MAX_COMPONENTS) {
		w->keep = MAX_COMPONENTS;
		w->truncated = 1;
	}
	bpf_loop(MAX_COMPONENTS, emit_step, &c, 0);
	return w->off - start;
}

/*
 * Finishes an executable's path that resolve_path wrote at data[start] with
 * result len: a file on an internal mount gets its own name instead, and
 * flags say whether the file is one, or was deleted. Returns the length to
 * send, 0 for none.
 */
static __always_inline int executable_name(struct scratch *s, u32 start, int len, struct path *exe,
					   u16 *flags, bool cast)
{
	if (len == PATH_PSEUDO) {
		*flags |= RECORD_EXE_ANONYMOUS;
		return anonymous_name(s, start, exe->dentry);
	}
	if (len < 0 || len > PATH_CAP)
		return 0;
	if (unlinked(exe->dentry, (u64)KREAD(cast, struct dentry, exe->dentry, d_parent), cast))
		*flags |= RECORD_EXE_DELETED;
	return len;
}

/* Resolves the accessed file's path at data[0]; a path too deep to decide on is counted. */
static __always_inline int resolve_file_path(struct scratch *s, struct path *target, struct path *root,
					     bool cast)
{
	int len = resolve_path(s, 0, target, root, cast);

	if (len == PATH_UNRESOLVED)
		count(COUNTER_PATH_UNRESOLVED);
	if (s->walk.truncated)
		s->rec.flags |= RECORD_PATH_TRUNCATED;
	return len;
}

/*
 * Longest-prefix match of the path in the trie. A '/' appended to the key makes
 * prefixes (stored with a trailing '/') match whole components only.
 */
static __always_inline bool watched_path(struct scratch *s, u32 path_len)
{
	u32 key_len = path_len;
	u8 *verdict;

	if (key_len < PREFIX_KEY_MAX) {
		s->data[bounded(key_len, DATA_MASK)] = '/';
		key_len++;
	}
	if (key_len > PREFIX_KEY_MAX)
		key_len = PREFIX_KEY_MAX;
	s->rec.key_bits = key_len * 8;

	verdict = bpf_map_lookup_elem(&prefixes, &s->rec.key_bits);
	return verdict && *verdict == VERDICT_INCLUDE;
}

/* The login uid (auid), or -1 (unset) on kernels built without audit. */
static __always_inline u32 login_uid(struct task_struct *task, bool typed)
{
	if (!bpf_core_field_exists(task->loginuid))
		return (u32)-1;
	return typed ? task->loginuid.val : BPF_CORE_READ(task, loginuid.val);
}

/* Whether a process's records are left out because it is in a container's init tree. */
static __always_inline bool excluded_init(struct process *p)
{
	return exclude_container_init && p && (p->flags & PROCESS_CONTAINER_INIT);
}

/* Whether a process is its pid namespace's init, in a namespace below the host's. */
static __always_inline bool container_init(struct proc_record *r)
{
	return r->ns_pid == 1 && r->pid != 1;
}

struct access {
	struct path *target; /* kernel pointer; NULL when user_path is set */
	const char *user_path;
	s64 ret;
	u64 arg;
	u64 mmap_flags;
	u16 op;
	u16 hook;
	u16 syscall_nr;
};

static __always_inline bool op_watched(u16 op)
{
	if (!(watched_ops & (1 << op)))
		return false;
	return (bpf_get_current_pid_tgid() >> 32) != self_tgid;
}

/*
 * Writes a user-supplied path at data[0]. A relative one gets the working
 * directory in front; "." and ".." and symbolic links stay as written, for
 * user space to resolve (RECORD_PATH_AS_WRITTEN).
 */
static __always_inline int user_path(struct scratch *s, struct task_struct *task,
				     const char *path, struct path *root, bool cast)
{
	struct path pwd;
	char first = 0;
	u32 off = 0;
	long n;

	bpf_probe_read_user(&first, 1, path);
	if (first != '/') {
		int cwd_len;

		BPF_CORE_READ_INTO(&pwd, task, fs, pwd);
		cwd_len = resolve_file_path(s, &pwd, root, cast);
		if (cwd_len < 0)
			return -1;
		off = cwd_len;
		if (off > 1)
			s->data[bounded(off, DATA_MASK)] = '/', off++;
	}
	if (off >= PATH_CAP) {
		s->rec.flags |= RECORD_PATH_TRUNCATED;
		return PATH_CAP;
	}

	n = bpf_probe_read_user_str(&s->data[bounded(off, PATH_CAP - 1)], PATH_CAP, path);
	if (n <= 0)
		return -1;
	off += n - 1;
	if (off > PATH_CAP) {
		s->rec.flags |= RECORD_PATH_TRUNCATED;
		off = PATH_CAP;
	}
	return off;
}

/*
 * Whether the file is an anonymous pipe, a socket or an anonymous inode
 * (eventfd, epoll, timerfd, ...): most reads and writes of a busy node are
 * theirs, they have no path a prefix could match, and telling so from the
 * superblock costs two loads instead of a path walk.
 */
static __always_inline bool anonymous_file(struct inode *inode, bool cast)
{
	unsigned long magic = KREAD(cast, struct inode, inode, i_sb, s_magic);

	return magic == PIPEFS_MAGIC || magic == SOCKFS_MAGIC || magic == ANON_INODE_FS_MAGIC;
}

/* Fills the dedup key of an access at now. */
static __always_inline void dedup_key_of(struct dedup_key *key, struct access *a, struct inode *inode,
					 struct process *proc, u32 tgid, u64 now)
{
	key->inode = (u64)inode;
	key->exec_ns = proc ? proc->exec_ns : 0;
	key->window = now / dedup_window_ns;
	key->tgid = tgid;
	key->op = a->op;
	key->failed = a->ret < 0;
}

/* Counts the access in its open dedup window, if one is open. */
static __always_inline bool dedup_counted(struct dedup_key *key)
{
	struct dedup_window *w = bpf_map_lookup_elem(&dedup_windows, key);

	if (!w)
		return false;
	__sync_fetch_and_add(&w->repeats, 1);
	return true;
}

/*
 * Opens the dedup window of a watched access and returns true, or returns
 * false when another CPU has just opened it, having counted the access there.
 */
static __always_inline bool dedup_open(struct dedup_key *key, u32 tgid, u64 now)
{
	struct dedup_window opened = { .first_ns = now, .tgid = tgid };

	if (!bpf_map_update_elem(&dedup_windows, key, &opened, BPF_NOEXIST))
		return true;
	/* Not counted anywhere if the window vanished meanwhile: then send it. */
	return !dedup_counted(key);
}

/*
 * Fills s->verdict_key and s->verdict for target as it is now, before any
 * walk. This is most of what an access to an unwatched file costs.
 */
static __always_inline void verdict_now(struct scratch *s, struct path *target, struct path *root,
					bool cast)
{
	struct cached_verdict *v = &s->verdict;
	struct dentry_head head;

	s->verdict_key.dentry = (u64)target->dentry;
	s->verdict_key.mnt = (u64)target->mnt;
	s->verdict_key.root_dentry = (u64)root->dentry;
	s->verdict_key.root_mnt = (u64)root->mnt;
	v->renames = renames_seen;
	v->mounts = KREAD(cast, struct mount, real_mount(target->mnt), mnt_ns, event);
	read_dentry_head(target->dentry, &head, cast);
	v->parent = head.parent;
	v->hash_len = head.hash_len;
	v->inode = head.inode;
}

/* Whether the file is remembered as unwatched, with a verdict still valid. */
static __always_inline bool known_unwatched(struct scratch *s, u64 now)
{
	struct cached_verdict *cached = bpf_map_lookup_elem(&unwatched_files, &s->verdict_key);
	struct cached_verdict *v = &s->verdict;

	return cached && cached->expires_ns > now && cached->renames == v->renames &&
	       cached->mounts == v->mounts && cached->parent == v->parent &&
	       cached->hash_len == v->hash_len && cached->inode == v->inode;
}

static __always_inline void remember_unwatched(struct scratch *s, u64 now)
{
	s->verdict.expires_ns = now + VERDICT_TTL_NS;
	bpf_map_update_elem(&unwatched_files, &s->verdict_key, &s->verdict, BPF_ANY);
}

/*
 * Programs come in two builds of the same code: the tp_btf and fexit ones get
 * the task as a BTF-typed pointer (bpf_get_current_task_btf) and read through
 * it with plain loads, the raw tracepoint and kprobe ones get an untyped
 * pointer and make a helper call per read. typed is a constant in each.
 */
static __always_inline struct task_struct *current_task(bool typed)
{
	if (typed)
		return bpf_get_current_task_btf();
	return (void *)bpf_get_current_task();
}

/*
 * typed: the program has a BTF-typed context, so the task is read with plain
 * loads, and the rest through casts where the kernel has them (CASTS).
 */
static __always_inline int report_body(struct access *a, bool typed)
{
	struct task_struct *task = current_task(typed);
	bool cast = CASTS(typed);
	struct path target, root, exe;
	struct dedup_key key;
	struct inode *inode;
	struct scratch *s;
	struct record *r;
	struct ids ids;
	struct file *exe_file;
	struct process *proc;
	u32 zero = 0, size, tgid;
	int path_len, exe_len;
	bool in_window = false;
	u64 id, now;

	s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!s)
		return 0;
	r = &s->rec;
	r->flags = 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	proc = NULL;
	now = 0;

	if (typed) {
		root.dentry = task->fs->root.dentry;
		root.mnt = task->fs->root.mnt;
	} else {
		BPF_CORE_READ_INTO(&root, task, fs, root);
	}
	if (a->user_path) {
		path_len = user_path(s, task, a->user_path, &root, cast);
		r->ino = 0;
		r->mode = 0;
	} else {
		if (cast) {
			struct path *p = CAST(a->target, struct path);

			target.mnt = p->mnt;
			target.dentry = p->dentry;
		} else {
			bpf_probe_read_kernel(&target, sizeof(target), a->target);
		}
		verdict_now(s, &target, &root, cast);
		/* One clock read for the verdict's age and the record's time. */
		now = bpf_ktime_get_boot_ns();
		if (known_unwatched(s, now))
			return 0;
		inode = (struct inode *)s->verdict.inode;
		if (anonymous_file(inode, cast))
			return 0;
		/* A repeat within an open window needs no path: its window was opened by a watched one. */
		in_window = dedup_window_ns != 0;
		if (in_window) {
			proc = bpf_map_lookup_elem(&processes, &tgid);
			dedup_key_of(&key, a, inode, proc, tgid, now);
			if (dedup_counted(&key))
				return 0;
		}
		path_len = resolve_file_path(s, &target, &root, cast);
		r->ino = KREAD(cast, struct inode, inode, i_ino);
		r->mode = KREAD(cast, struct inode, inode, i_mode);
	}
	if (path_len <= 0 || path_len > PATH_CAP)
		return 0;
	if (a->user_path)
		r->flags |= RECORD_PATH_AS_WRITTEN;
	else if (!watched_path(s, path_len)) {
		remember_unwatched(s, now);
		return 0;
	}
	if (a->user_path)
		now = bpf_ktime_get_boot_ns();
	if (!in_window)
		proc = bpf_map_lookup_elem(&processes, &tgid);
	if (excluded_init(proc))
		return 0;
	if (in_window) {
		if (!dedup_open(&key, tgid, now))
			return 0;
		r->flags |= RECORD_DEDUP;
	}

	exe_len = 0;
	exe_file = typed ? task->mm->exe_file : BPF_CORE_READ(task, mm, exe_file);
	if (exe_file) {
		if (typed) {
			exe.mnt = exe_file->f_path.mnt;
			exe.dentry = exe_file->f_path.dentry;
		} else {
			BPF_CORE_READ_INTO(&exe, exe_file, f_path);
		}
	}
	if (exe_file && proc && (proc->flags & PROCESS_EXEC_SENT) && proc->exe_file == (u64)exe_file) {
		/* The walk is most of a watched record's cost after the file's own. */
		r->flags |= RECORD_EXE_OF_EXEC;
		if (unlinked(exe.dentry, (u64)KREAD(cast, struct dentry, exe.dentry, d_parent), cast))
			r->flags |= RECORD_EXE_DELETED;
	} else if (exe_file) {
		exe_len = resolve_path(s, path_len, &exe, &root, cast);
		if (exe_len == PATH_UNRESOLVED || s->walk.truncated)
			r->flags |= RECORD_EXE_TRUNCATED;
		exe_len = executable_name(s, path_len, exe_len, &exe, &r->flags, cast);
	}
	if (!a->user_path && unlinked(target.dentry, s->verdict.parent, cast))
		r->flags |= RECORD_PATH_DELETED;

	r->kind = KIND_FILE;
	r->auid = login_uid(task, typed);
	r->exec_ns = proc ? proc->exec_ns : 0;
	if (proc && (proc->flags & PROCESS_CONTAINER_INIT))
		r->flags |= RECORD_CONTAINER_INIT;
	r->boot_ns = now;
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->ret = a->ret;
	r->arg = a->arg;
	r->mmap_flags = a->mmap_flags;
	r->pid = tgid;
	r->tid = (u32)id;
	r->ppid = typed ? task->real_parent->tgid : BPF_CORE_READ(task, real_parent, tgid);
	read_ids(task, &ids, typed);
	r->uid = ids.uid;
	r->euid = ids.euid;
	r->gid = ids.gid;
	r->egid = ids.egid;
	r->op = a->op;
	r->hook = a->hook;
	r->syscall_nr = a->syscall_nr;
	r->path_len = path_len;
	r->exe_len = exe_len;
	bpf_get_current_comm(r->comm, sizeof(r->comm));

	size = sizeof(*r) + path_len + exe_len;
	if (size > sizeof(*r) + 2 * PATH_CAP)
		return 0;
	if (bpf_ringbuf_output(&records, r, size, wakeup(size))) {
		count(COUNTER_RING_FULL);
		/*
		 * The window's record is lost, and with it the repeats counted
		 * meanwhile: count them too, and let the next repeat open the
		 * window again.
		 */
		if (in_window) {
			struct dedup_window *w = bpf_map_lookup_elem(&dedup_windows, &key);

			if (w)
				count_n(COUNTER_RING_FULL, w->repeats);
			bpf_map_delete_elem(&dedup_windows, &key);
		}
	}
	return 0;
}

/* report_body's two builds: the tp_btf and fexit programs call the first, the others the second. */
static __noinline int report_typed(struct access *a)
{
	return report_body(a, true);
}

static __noinline int report_raw(struct access *a)
{
	return report_body(a, false);
}

static __always_inline int report(struct access *a, bool typed)
{
	return typed ? report_typed(a) : report_raw(a);
}

/* Like report(), but stops after the prefix match: the kprobe side's cheap early filter. */
static __noinline int watched_target(struct path *target_ptr)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct path target, root;
	struct scratch *s;
	u32 zero = 0;
	int path_len;
	u64 now;

	s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!s)
		return 0;
	BPF_CORE_READ_INTO(&root, task, fs, root);
	bpf_probe_read_kernel(&target, sizeof(target), target_ptr);
	verdict_now(s, &target, &root, false);
	now = bpf_ktime_get_boot_ns();
	if (known_unwatched(s, now))
		return 0;
	if (anonymous_file((struct inode *)s->verdict.inode, false))
		return 0;
	path_len = resolve_file_path(s, &target, &root, false);
	if (path_len <= 0 || path_len > PATH_CAP)
		return 0;
	if (!watched_path(s, path_len)) {
		remember_unwatched(s, now);
		return 0;
	}
	return 1;
}

static __always_inline u16 permission_op(int mask)
{
	if (mask & MAY_WRITE)
		return OP_WRITE;
	if (mask & MAY_READ)
		return OP_READ;
	return 0;
}

/* typed: called from an fexit program, which may read the task through a BTF-typed pointer. */
static __always_inline int report_hook(u16 op, u16 hook, struct path *target, s64 ret, u64 arg,
				       u64 mmap_flags, bool typed)
{
	struct access a = {
		.target = target,
		.ret = ret,
		.arg = arg,
		.mmap_flags = mmap_flags,
		.op = op,
		.hook = hook,
	};

	if (!op || !target || !op_watched(op))
		return 0;
	return report(&a, typed);
}

/*
 * Overlayfs reads the file below through an internal file of its own, and the
 * hooks see that inner access too. Kernels before 6.6 give the inner file the
 * overlay's path with the lower inode; later ones give it the lower path on an
 * internal mount, which the path walk drops. Only the outer access, whose inode
 * is its path's, is reported, so one read is one record.
 */
static __always_inline bool stacked_inner_file(struct file *file, bool typed)
{
	if (typed)
		return file->f_inode != file->f_path.dentry->d_inode;
	return BPF_CORE_READ(file, f_inode) != BPF_CORE_READ(file, f_path.dentry, d_inode);
}

/* ---- fentry mode ---- */

SEC("fexit/security_file_permission")
int BPF_PROG(fexit_file_permission, struct file *file, int mask, int ret)
{
	if (stacked_inner_file(file, true))
		return 0;
	return report_hook(permission_op(mask), HOOK_FILE_PERMISSION, &file->f_path, ret, mask, 0, true);
}

SEC("fexit/security_mmap_file")
int BPF_PROG(fexit_mmap_file, struct file *file, unsigned long prot, unsigned long flags, int ret)
{
	if (!file || stacked_inner_file(file, true))
		return 0;
	return report_hook(OP_MMAP, HOOK_MMAP_FILE, &file->f_path, ret, prot, flags, true);
}

SEC("fexit/security_path_truncate")
int BPF_PROG(fexit_path_truncate, struct path *path, int ret)
{
	return report_hook(OP_TRUNCATE, HOOK_PATH_TRUNCATE, path, ret, 0, 0, true);
}

SEC("fexit/security_file_truncate")
int BPF_PROG(fexit_file_truncate, struct file *file, int ret)
{
	if (stacked_inner_file(file, true))
		return 0;
	return report_hook(OP_TRUNCATE, HOOK_FILE_TRUNCATE, &file->f_path, ret, 0, 0, true);
}

/* ---- kprobe mode ---- */

static __always_inline int remember(u16 op, u16 hook, struct path *target, u64 arg, u64 mmap_flags)
{
	struct pending_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .hook = hook };
	struct pending p = { .target = (u64)target, .arg = arg, .mmap_flags = mmap_flags, .op = op };

	if (!op || !target || !op_watched(op))
		return 0;
	if (!watched_target(target))
		return 0;
	if (bpf_map_update_elem(&pending_hooks, &key, &p, BPF_ANY))
		count(COUNTER_PENDING_FULL);
	return 0;
}

static __always_inline int recall(u16 hook, s64 ret)
{
	struct pending_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .hook = hook };
	struct pending *p = bpf_map_lookup_elem(&pending_hooks, &key);
	struct pending copy;

	if (!p)
		return 0;
	copy = *p;
	bpf_map_delete_elem(&pending_hooks, &key);
	return report_hook(copy.op, hook, (struct path *)copy.target, ret, copy.arg, copy.mmap_flags, false);
}

/*
 * Every completed rename, in the hook modes: it may move files under a
 * watched prefix, so the unwatched-file cache's verdicts made before it no
 * longer hold. Counted after the move, so a walk that read the count before
 * it cannot leave a verdict that survives it. Failed renames count too; they
 * are rare and cost only a few walks.
 */
SEC("fexit/vfs_rename")
int fexit_vfs_rename(void *ctx)
{
	__sync_fetch_and_add(&renames_seen, 1);
	return 0;
}

SEC("kretprobe/vfs_rename")
int kretprobe_vfs_rename(void *ctx)
{
	__sync_fetch_and_add(&renames_seen, 1);
	return 0;
}

SEC("kprobe/security_file_permission")
int BPF_KPROBE(kprobe_file_permission, struct file *file, int mask)
{
	if (stacked_inner_file(file, false))
		return 0;
	return remember(permission_op(mask), HOOK_FILE_PERMISSION, &file->f_path, mask, 0);
}

SEC("kretprobe/security_file_permission")
int BPF_KRETPROBE(kretprobe_file_permission, int ret)
{
	return recall(HOOK_FILE_PERMISSION, ret);
}

SEC("kprobe/security_mmap_file")
int BPF_KPROBE(kprobe_mmap_file, struct file *file, unsigned long prot, unsigned long flags)
{
	if (!file || stacked_inner_file(file, false))
		return 0;
	return remember(OP_MMAP, HOOK_MMAP_FILE, &file->f_path, prot, flags);
}

SEC("kretprobe/security_mmap_file")
int BPF_KRETPROBE(kretprobe_mmap_file, int ret)
{
	return recall(HOOK_MMAP_FILE, ret);
}

SEC("kprobe/security_path_truncate")
int BPF_KPROBE(kprobe_path_truncate, struct path *path)
{
	return remember(OP_TRUNCATE, HOOK_PATH_TRUNCATE, path, 0, 0);
}

SEC("kretprobe/security_path_truncate")
int BPF_KRETPROBE(kretprobe_path_truncate, int ret)
{
	return recall(HOOK_PATH_TRUNCATE, ret);
}

SEC("kprobe/security_file_truncate")
int BPF_KPROBE(kprobe_file_truncate, struct file *file)
{
	if (stacked_inner_file(file, false))
		return 0;
	return remember(OP_TRUNCATE, HOOK_FILE_TRUNCATE, &file->f_path, 0, 0);
}

SEC("kretprobe/security_file_truncate")
int BPF_KRETPROBE(kretprobe_file_truncate, int ret)
{
	return recall(HOOK_FILE_TRUNCATE, ret);
}

/* ---- tracepoint mode ---- */

/*
 * The file behind a descriptor in the task's table. The kernel takes a
 * descriptor as an int: only the low 32 bits of the register count.
 */
static __always_inline struct file *fd_file(struct task_struct *task, int fd, bool typed)
{
	struct fdtable *fdt;
	struct {
		u64 max_fds;	/* an unsigned int, then padding */
		struct file **fd;
	} table;
	struct file *file = NULL;

	if (fd < 0)
		return NULL;
	if (typed) {
		/* A struct file ** is a scalar to the verifier: the entry takes a helper call. */
		fdt = task->files->fdt;
		if ((u32)fd >= fdt->max_fds)
			return NULL;
		bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
		return file;
	}
	fdt = BPF_CORE_READ(task, files, fdt);
	/* Both in one read where max_fds leads and fd follows, as in every kernel. */
	if (bpf_core_field_offset(struct fdtable, max_fds) == 0 &&
	    bpf_core_field_offset(struct fdtable, fd) == 8) {
		if (bpf_probe_read_kernel(&table, sizeof(table), fdt))
			return NULL;
		table.max_fds = (u32)table.max_fds;
	} else {
		table.max_fds = BPF_CORE_READ(fdt, max_fds);
		table.fd = BPF_CORE_READ(fdt, fd);
	}
	if ((u64)fd >= table.max_fds)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &table.fd[fd]);
	return file;
}

static __always_inline int report_fd(int fd, u16 op, u16 nr, s64 ret, u64 arg, u64 mmap_flags,
				     bool typed)
{
	struct task_struct *task = current_task(typed);
	struct file *file;
	struct access a = {
		.ret = ret,
		.arg = arg,
		.mmap_flags = mmap_flags,
		.op = op,
		.hook = HOOK_SYS_EXIT,
		.syscall_nr = nr,
	};

	if (!op_watched(op))
		return 0;
	file = fd_file(task, fd, typed);
	if (!file)
		return 0;
	a.target = &file->f_path;
	return report(&a, typed);
}

/* An open that truncated: O_TRUNC on an existing regular file, as do_open() decides. */
static __always_inline int report_open_trunc(long fd, u64 flags, u16 nr, bool typed)
{
	struct task_struct *task = current_task(typed);
	struct file *file;
	u32 mode;

	/* O_PATH opens ignore O_TRUNC. */
	if (fd < 0 || !(flags & O_TRUNC) || (flags & O_PATH) || !op_watched(OP_TRUNCATE))
		return 0;
	file = fd_file(task, fd, typed);
	if (!file || (BPF_CORE_READ(file, f_mode) & FMODE_CREATED))
		return 0;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFREG)
		return 0;
	return report_fd(fd, OP_TRUNCATE, nr, 0, flags, 0, typed);
}

/* truncate(2) names a path, not a file: reported when the kernel got as far as the file. */
static __always_inline int report_truncate_path(const char *path, s64 ret, bool typed)
{
	struct access a = {
		.user_path = path,
		.ret = ret,
		.op = OP_TRUNCATE,
		.hook = HOOK_SYS_EXIT,
		.syscall_nr = NR_truncate,
	};

	if (ret < 0 && ret != -EACCES && ret != -EPERM)
		return 0;
	if (!op_watched(OP_TRUNCATE))
		return 0;
	return report(&a, typed);
}

/* A system call's argument: a plain load from a typed pt_regs, else a helper call. */
#define ARG(regs, reg) (typed ? (regs)->reg : BPF_CORE_READ(regs, reg))

/*
 * Runs on the exit of every system call on the node, so the number is checked
 * first and nothing else is read for the calls that are not file I/O.
 */
/*
 * Known limitation: the file is looked up in the fd table when the system call
 * returns, so another thread that closes or replaces the descriptor during the
 * call can hide the access or have it reported as the replacement file's.
 */
static __always_inline int on_sys_exit(struct pt_regs *regs, long nr, long ret, bool typed)
{
	struct task_struct *task;
	u64 how_flags = 0;

	/* Every system call passes here: leave the ones not decoded below before reading anything. */
	switch (nr) {
	case NR_read ... NR_open:
	case NR_mmap:
	case NR_pread64 ... NR_writev:
	case NR_sendfile:
	case NR_truncate ... NR_ftruncate:
	case NR_creat:
	case NR_openat:
	case NR_splice:
	case NR_fallocate:
	case NR_preadv ... NR_pwritev:
	case NR_open_by_handle_at:
	case NR_copy_file_range ... NR_pwritev2:
	case NR_openat2:
		break;
	case NR_rename:
	case NR_renameat:
	case NR_renameat2:
		if (ret == 0)
			__sync_fetch_and_add(&renames_seen, 1);
		return 0;
	case NR32_rename:
	case NR32_renameat:
	case NR32_renameat2:
		break;
	default:
		return 0;
	}
	if (ret <= -ERESTARTSYS && ret >= -ERESTART_RESTARTBLOCK)
		return 0;
	/* The 64-bit numbers mean other calls in a 32-bit one: only its renames count. */
	task = current_task(typed);
	if ((typed ? task->thread_info.status : BPF_CORE_READ(task, thread_info.status)) & TS_COMPAT) {
		if (ret == 0 && (nr == NR32_rename || nr == NR32_renameat || nr == NR32_renameat2))
			__sync_fetch_and_add(&renames_seen, 1);
		return 0;
	}

	switch (nr) {
	case NR_read:
	case NR_readv:
	case NR_pread64:
	case NR_preadv:
	case NR_preadv2:
		return report_fd(ARG(regs, di), OP_READ, nr, ret, MAY_READ, 0, typed);
	case NR_write:
	case NR_writev:
	case NR_pwrite64:
	case NR_pwritev:
	case NR_pwritev2:
	case NR_fallocate:
		return report_fd(ARG(regs, di), OP_WRITE, nr, ret, MAY_WRITE, 0, typed);
	case NR_copy_file_range:
	case NR_splice:
		report_fd(ARG(regs, di), OP_READ, nr, ret, MAY_READ, 0, typed);
		return report_fd(ARG(regs, dx), OP_WRITE, nr, ret, MAY_WRITE, 0, typed);
	case NR_sendfile:
		report_fd(ARG(regs, si), OP_READ, nr, ret, MAY_READ, 0, typed);
		return report_fd(ARG(regs, di), OP_WRITE, nr, ret, MAY_WRITE, 0, typed);
	case NR_mmap:
		if (ARG(regs, r10) & MAP_ANONYMOUS)
			return 0;
		return report_fd(ARG(regs, r8), OP_MMAP, nr, ret, ARG(regs, dx),
				 ARG(regs, r10), typed);
	case NR_ftruncate:
		return report_fd(ARG(regs, di), OP_TRUNCATE, nr, ret, 0, 0, typed);
	case NR_truncate:
		return report_truncate_path((const char *)ARG(regs, di), ret, typed);
	case NR_creat:
		return report_open_trunc(ret, O_TRUNC, nr, typed);
	case NR_open:
		return report_open_trunc(ret, ARG(regs, si), nr, typed);
	case NR_openat:
	case NR_open_by_handle_at:
		return report_open_trunc(ret, ARG(regs, dx), nr, typed);
	case NR_openat2:
		/* struct open_how starts with the u64 flags. */
		bpf_probe_read_user(&how_flags, sizeof(how_flags), (void *)ARG(regs, dx));
		return report_open_trunc(ret, how_flags, nr, typed);
	}
	return 0;
}

#undef ARG

/* tp_btf gets a typed pt_regs pointer, so the number is a plain load, not a helper call. */
SEC("tp_btf/sys_exit")
int BPF_PROG(btf_sys_exit, struct pt_regs *regs, long ret)
{
	return on_sys_exit(regs, regs->orig_ax, ret, true);
}

SEC("raw_tracepoint/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];

	return on_sys_exit(regs, BPF_CORE_READ(regs, orig_ax), ctx->args[1], false);
}

/* ---- process tracking, in every attach mode ---- */

static __always_inline void fill_process(struct proc_record *r, struct task_struct *task, u32 kind)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	struct ids ids;
	unsigned int level = BPF_CORE_READ(pid, level);
	void *upid;

	r->kind = kind;
	r->flags = 0;
	r->event_ns = bpf_ktime_get_boot_ns();
	r->start_ns = BPF_CORE_READ(leader, start_boottime);
	r->pid = BPF_CORE_READ(task, tgid);
	r->tid = BPF_CORE_READ(task, pid);
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	read_ids(task, &ids, false);
	r->uid = ids.uid;
	r->euid = ids.euid;
	r->gid = ids.gid;
	r->egid = ids.egid;
	r->auid = login_uid(task, false);
	r->exit_code = 0;
	r->exe_len = 0;
	r->cwd_len = 0;
	r->args_len = 0;
	BPF_CORE_READ_STR_INTO(&r->comm, task, comm);

	/* The deepest pid namespace's number: what the process calls itself. */
	upid = (void *)pid + bpf_core_field_offset(struct pid, numbers) +
	       (level & 31) * bpf_core_type_size(struct upid);
	r->ns_pid = 0;
	bpf_probe_read_kernel(&r->ns_pid, sizeof(r->ns_pid), upid + bpf_core_field_offset(struct upid, nr));
}

/* Returns whether the record is in the ring. */
static __always_inline bool send_process(struct scratch *s, u32 data_len)
{
	u32 size = sizeof(s->proc) + data_len;

	if (size > sizeof(s->proc) + 3 * PATH_CAP)
		return false;
	if (bpf_ringbuf_output(&records, &s->proc, size, wakeup(size))) {
		count(COUNTER_PROCESS_RING_FULL);
		return false;
	}
	return true;
}

/*
 * Marks the process's entry once its exec or clone record is in the ring. Its
 * other threads are gone by the exec tracepoint, and a new child has not run
 * at the fork's, so a file record that finds the mark comes after the record
 * in the ring, and user space reads that first.
 */
static __always_inline void mark_exec_sent(u32 tgid)
{
	struct process *p = bpf_map_lookup_elem(&processes, &tgid);

	if (p)
		p->flags |= PROCESS_EXEC_SENT;
}

SEC("raw_tracepoint/sched_process_exec")
int process_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct process *self, *parent, entry = {};
	struct path root, exe, pwd;
	struct mm_struct *mm;
	struct scratch *s;
	u32 zero = 0, tgid, ppid, off;
	int exe_len, cwd_len;
	u16 exe_flags;
	u64 args, args_end, args_len;

	s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!s)
		return 0;
	fill_process(&s->proc, task, KIND_EXEC);
	s->proc.cgroup_id = bpf_get_current_cgroup_id();

	tgid = s->proc.pid;
	ppid = s->proc.ppid;
	self = bpf_map_lookup_elem(&processes, &tgid);
	parent = bpf_map_lookup_elem(&processes, &ppid);
	entry.exec_ns = s->proc.event_ns;
	entry.parent_exec_ns = parent ? parent->exec_ns : 0;
	entry.exe_file = (u64)BPF_CORE_READ(task, mm, exe_file);
	/*
	 * An exec keeps the process in or out of its container's init tree. The
	 * barrier keeps clang from testing both pointers at once (self | parent),
	 * which the verifier refuses.
	 */
	barrier_var(self);
	if (self)
		entry.flags = self->flags & PROCESS_CONTAINER_INIT;
	else if (parent)
		entry.flags = parent->flags & PROCESS_CONTAINER_INIT;
	if (container_init(&s->proc))
		entry.flags |= PROCESS_CONTAINER_INIT;
	bpf_map_update_elem(&processes, &tgid, &entry, BPF_ANY);
	if (excluded_init(&entry))
		return 0;
	if (entry.flags & PROCESS_CONTAINER_INIT)
		s->proc.flags |= RECORD_CONTAINER_INIT;
	s->proc.exec_ns = entry.exec_ns;
	s->proc.parent_exec_ns = entry.parent_exec_ns;

	BPF_CORE_READ_INTO(&root, task, fs, root);
	mm = BPF_CORE_READ(task, mm);
	BPF_CORE_READ_INTO(&exe, mm, exe_file, f_path);
	exe_len = resolve_path(s, 0, &exe, &root, false);
	if (exe_len == PATH_UNRESOLVED || s->walk.truncated)
		s->proc.flags |= RECORD_EXE_TRUNCATED;
	exe_flags = 0;
	exe_len = executable_name(s, 0, exe_len, &exe, &exe_flags, false);
	s->proc.flags |= exe_flags;
	if (exe_len == 0)
		s->proc.flags |= RECORD_EXE_TRUNCATED;
	off = exe_len;

	BPF_CORE_READ_INTO(&pwd, task, fs, pwd);
	cwd_len = resolve_path(s, off, &pwd, &root, false);
	if (cwd_len < 0 || cwd_len > PATH_CAP)
		cwd_len = 0;
	if (s->walk.truncated)
		s->proc.flags |= RECORD_CWD_TRUNCATED;
	off += cwd_len;

	args = BPF_CORE_READ(mm, arg_start);
	args_end = BPF_CORE_READ(mm, arg_end);
	args_len = args_end > args ? args_end - args : 0;
	if (args_len > ARGS_CAP) {
		args_len = ARGS_CAP;
		s->proc.flags |= RECORD_ARGS_TRUNCATED;
	}
	args_len = bounded(args_len, ARGS_CAP);
	if (bpf_probe_read_user(&s->data[bounded(off, 2 * PATH_CAP - 1)], args_len, (void *)args))
		args_len = 0;

	s->proc.exe_len = exe_len;
	s->proc.cwd_len = cwd_len;
	s->proc.args_len = args_len;
	if (send_process(s, off + args_len))
		mark_exec_sent(tgid);
	return 0;
}

/* A new process (not a thread): it keeps its parent's image until it execs. */
SEC("raw_tracepoint/sched_process_fork")
int process_clone(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent_task = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	struct process *parent, entry = {};
	struct scratch *s;
	u32 zero = 0, tgid, ppid, parent_flags;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!s)
		return 0;
	fill_process(&s->proc, child, KIND_CLONE);
	s->proc.cgroup_id = bpf_get_current_cgroup_id();

	tgid = s->proc.pid;
	ppid = BPF_CORE_READ(parent_task, tgid);
	s->proc.ppid = ppid;
	parent = bpf_map_lookup_elem(&processes, &ppid);
	entry.exec_ns = s->proc.event_ns;
	entry.parent_exec_ns = parent ? parent->exec_ns : 0;
	/* The child shares its parent's executable file until it execs. */
	entry.exe_file = parent ? parent->exe_file : 0;
	parent_flags = parent ? parent->flags : 0;
	entry.flags = parent_flags & PROCESS_CONTAINER_INIT;
	if (container_init(&s->proc))
		entry.flags |= PROCESS_CONTAINER_INIT;
	bpf_map_update_elem(&processes, &tgid, &entry, BPF_ANY);
	if (excluded_init(&entry))
		return 0;
	if (entry.flags & PROCESS_CONTAINER_INIT)
		s->proc.flags |= RECORD_CONTAINER_INIT;
	s->proc.exec_ns = entry.exec_ns;
	s->proc.parent_exec_ns = entry.parent_exec_ns;
	/*
	 * The child runs its parent's image: user space copies its path from
	 * there. The parent's flags were read before the update, which may have
	 * evicted its entry from the LRU map.
	 */
	if (send_process(s, 0) && (parent_flags & PROCESS_EXEC_SENT))
		mark_exec_sent(tgid);
	return 0;
}

/* The last thread of a process leaving: the process has ended. */
SEC("raw_tracepoint/sched_process_exit")
int process_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct process *p;
	struct scratch *s;
	u32 zero = 0, tgid;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!s)
		return 0;
	fill_process(&s->proc, task, KIND_EXIT);
	s->proc.cgroup_id = bpf_get_current_cgroup_id();
	s->proc.exit_code = BPF_CORE_READ(task, exit_code);

	tgid = s->proc.pid;
	p = bpf_map_lookup_elem(&processes, &tgid);
	if (excluded_init(p)) {
		bpf_map_delete_elem(&processes, &tgid);
		return 0;
	}
	if (p && (p->flags & PROCESS_CONTAINER_INIT))
		s->proc.flags |= RECORD_CONTAINER_INIT;
	s->proc.exec_ns = p ? p->exec_ns : 0;
	s->proc.parent_exec_ns = p ? p->parent_exec_ns : 0;
	bpf_map_delete_elem(&processes, &tgid);
	send_process(s, 0);
	return 0;
}
