package jobs

import "time"

// Entry is one line of a job's history.
type Entry struct {
	// Time is when the entry was narrated; it is sent in milliseconds.
	Time time.Time
	// Message is the text shown to the user.
	Message string
	// Attachments are shown with the message.
	Attachments []Attachment
	// Important highlights the entry.
	Important bool
}
