package probe

// tally is a probe's small record by name (a stage's time, a page's time,
// a collector's outcome), kept in the order the names first came. A probe
// has a dozen names at most: a scan finds one sooner than a map does, and
// the entries live in the tally itself, so a probe's tallies cost no
// allocation until a thirteenth name.
type tally[V any] struct {
	entries []tallyEntry[V]
	room    [tallyRoom]tallyEntry[V]
}

// tallyRoom is how many names a tally holds without allocating: the
// stages and the default pages number ten or fewer.
const tallyRoom = 12

// tallyEntry is one name and its value.
type tallyEntry[V any] struct {
	name  string
	value V
}

// index returns the position of name's entry, or -1.
func (t *tally[V]) index(name string) int {
	for i := range t.entries {
		if t.entries[i].name == name {
			return i
		}
	}
	return -1
}

// at returns the value of name, added with the zero value if it is new.
func (t *tally[V]) at(name string) *V {
	if i := t.index(name); i >= 0 {
		return &t.entries[i].value
	}
	if t.entries == nil {
		t.entries = t.room[:0]
	}
	t.entries = append(t.entries, tallyEntry[V]{name: name})
	return &t.entries[len(t.entries)-1].value
}

// get returns the value of name and whether it is there.
func (t *tally[V]) get(name string) (V, bool) {
	if i := t.index(name); i >= 0 {
		return t.entries[i].value, true
	}
	var zero V
	return zero, false
}
