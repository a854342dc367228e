package config

// Records configures call detail records and the per-user call history
// (seed 004: "Delete data older than (days)").
type Records struct {
	// RetentionDays is how many days of call records are kept; older ones
	// are deleted once at start and then daily. 0 keeps them forever. 0 to
	// 36500. Default: 90.
	RetentionDays int `yaml:"retention_days"`

	// QueueSize is how many finished calls' records may wait to be
	// written; beyond it records are dropped (and counted) rather than
	// delay a call. 100 to 1000000. Default: 10000.
	QueueSize int `yaml:"queue_size"`
}

// defaultRecords returns the records defaults.
func defaultRecords() Records { return Records{RetentionDays: 90, QueueSize: 10000} }

func (d *decoder) validateRecords(r *Records) {
	if r.RetentionDays < 0 || r.RetentionDays > 36500 {
		d.errorf("records.retention_days", "%d is out of range: must be from 0 (keep forever) to 36500", r.RetentionDays)
	}
	if r.QueueSize < 100 || r.QueueSize > 1000000 {
		d.errorf("records.queue_size", "%d is out of range: must be from 100 to 1000000", r.QueueSize)
	}
}
