package attendant

// Publish sends msg to every client of the event stream (and keeps it in
// the ring for clients that reconnect): for messages other parts of the
// gateway make, such as the operator queue's (type queue).
func (m *Model) Publish(msg Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publishLocked(msg, "", "")
}

// PublishGroup is Publish for a message only the operators of group may
// see (and supervisors and admins, whose filter has AllGroups): an
// operator queue's messages go to the queue's group.
func (m *Model) PublishGroup(msg Message, group string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publishEntryLocked(msg, entry{group: group})
}
