package process

import "slices"

// Exec records that e.PID exec'd: a new entry under Key{e.PID, e.ExecNs},
// which becomes the pid's latest. The entry it supersedes starts its grace as
// if it had exited, its ExitCode unchanged. When the kernel did not know the
// parent's exec, the parent pid's latest entry stands in for it.
func (t *Table) Exec(e *Event) *Info {
	t.expire()
	info, _ := t.infoFrom(e, OriginExec)
	return &t.insert(info).info
}

// Clone records a new process that has not exec'd. It runs its parent's
// image, so it takes the executable, arguments and working directory of the
// parent's entry, or the event's own when the table does not know the parent.
func (t *Table) Clone(e *Event) *Info {
	t.expire()
	info, parent := t.infoFrom(e, OriginClone)
	if parent != nil {
		p := &parent.info
		info.Executable, info.ExecutableTruncated = p.Executable, p.ExecutableTruncated
		info.Args, info.ArgsTruncated = slices.Clone(p.Args), p.ArgsTruncated
		info.Cwd, info.CwdTruncated = p.Cwd, p.CwdTruncated
	}
	return &t.insert(info).info
}

// Exit marks the exec of e, found as Lookup finds it, exited with e.ExitCode
// and starts its grace. It returns nil if the table does not know the exec.
func (t *Table) Exit(e *Event) *Info {
	t.expire()
	ent := t.resolve(e.PID, e.ExecNs)
	if ent == nil {
		return nil
	}
	ent.info.Exited = true
	ent.info.ExitCode = e.ExitCode
	t.end(ent)
	return &ent.info
}

// infoFrom builds the entry for e and returns it with the parent's entry, nil
// if the table does not know the parent.
func (t *Table) infoFrom(e *Event, origin Origin) (Info, *entry) {
	key := Key{PID: e.PID, ExecNs: e.ExecNs}
	parentKey := Key{PID: e.PPID, ExecNs: e.ParentExecNs}
	parent := t.resolve(parentKey.PID, parentKey.ExecNs)
	if parentKey.ExecNs == 0 && parent != nil {
		parentKey = parent.info.Key
	}

	info := Info{
		Key:                 key,
		ParentKey:           parentKey,
		ExecID:              ExecID(t.hostName, key),
		PPID:                e.PPID,
		NsPID:               e.NsPID,
		Executable:          e.Executable,
		ExecutableTruncated: e.ExecutableTruncated,
		Args:                e.Args,
		ArgsTruncated:       e.ArgsTruncated,
		Cwd:                 e.Cwd,
		CwdTruncated:        e.CwdTruncated,
		Comm:                e.Comm,
		UID:                 e.UID,
		EUID:                e.EUID,
		GID:                 e.GID,
		EGID:                e.EGID,
		AUID:                e.AUID,
		StartNs:             e.StartNs,
		CgroupID:            e.CgroupID,
		Origin:              origin,
	}
	if parentKey.ExecNs != 0 {
		info.ParentExecID = ExecID(t.hostName, parentKey)
	}
	return info, parent
}
