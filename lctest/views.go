package lctest

import (
	"slices"
)

// Exchanges returns every delivery attempt to the service so far, in the
// order they ended: the ActivityResponse entries of the cloud's record.
func (s *Service) Exchanges() []Exchange {
	var out []Exchange
	for _, a := range s.cloud.activities(ActivityResponse, s.owns) {
		out = append(out, *a.Exchange)
	}
	return out
}

// Detections returns the detections the cloud's rules made and delivered
// to the service, in order, each once however many times it was
// redelivered.
func (s *Service) Detections() []Detection {
	var out []Detection
	for _, a := range s.cloud.activities(ActivityWebhook, func(a *Activity) bool {
		return s.owns(a) && a.Attempt == 1 && a.Detection != nil
	}) {
		out = append(out, *a.Detection)
	}
	return out
}

// Jobs returns the jobs the service's responses carried, each merged by
// ID across every response as Job merges it, in the order the service
// started them: by the causal position of each job's first update.
func (s *Service) Jobs() []Job {
	byID := s.jobUpdates()
	all := make([][]jobUpdate, 0, len(byID))
	for _, updates := range byID {
		all = append(all, updates)
	}
	slices.SortFunc(all, func(a, b []jobUpdate) int { return a[0].compare(b[0]) })
	out := make([]Job, 0, len(all))
	for _, updates := range all {
		out = append(out, merge(updates))
	}
	return out
}

// Job returns the job with id, merged across every response: its
// updates are applied in causal order, not in the order the responses
// came back (see the package documentation).
func (s *Service) Job(id string) (Job, bool) {
	updates, ok := s.jobUpdates()[id]
	if !ok {
		return Job{}, false
	}
	return merge(updates), true
}

// jobUpdates returns the job updates of the service's responses by job
// ID, each job's in causal order.
func (s *Service) jobUpdates() map[string][]jobUpdate {
	byID := map[string][]jobUpdate{}
	for _, x := range s.Exchanges() {
		for pos, j := range x.Response.Jobs {
			if j.ID != "" {
				byID[j.ID] = append(byID[j.ID], jobUpdate{sent: x.sent, pos: pos, job: j})
			}
		}
	}
	for _, updates := range byID {
		slices.SortFunc(updates, jobUpdate.compare)
	}
	return byID
}

// owns reports whether a is about the service.
func (s *Service) owns(a *Activity) bool { return a.Service == s.name }
