package lctest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Health sends a health webhook and, when it succeeds, keeps the
// detect_subscriptions and callbacks of the answer.
//
// For an extension, Health sends heartbeat and schema_request and keeps
// the schema; the response is zero.
func (s *Service) Health(ctx context.Context) (Response, error) {
	if s.protocol == Extension {
		return Response{}, s.registerExtension(ctx)
	}
	resp, err := s.Deliver(ctx, "health", nil, nil)
	if err != nil {
		return resp, err
	}
	if !resp.Success {
		return resp, fmt.Errorf("service %q answered health with success=false: %s", s.name, resp.Error)
	}
	var h struct {
		Mtd struct {
			DetectSubscriptions []string `json:"detect_subscriptions"`
			Callbacks           []string `json:"callbacks"`
		} `json:"mtd"`
	}
	if len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, &h); err != nil {
			return resp, fmt.Errorf("service %q: health data is not {version, start_time, mtd:{…}}: %w", s.name, err)
		}
	}
	s.mu.Lock()
	s.subs, s.callbacks = h.Mtd.DetectSubscriptions, h.Mtd.Callbacks
	s.mu.Unlock()
	return resp, nil
}

// Install installs the service in org and sends it org_install. The
// service counts as installed from before the webhook on, whatever it
// answers: in LimaCharlie the user's subscription is what installs it,
// and its org_install handler may already task sensors.
func (s *Service) Install(ctx context.Context, org *Org) (Response, error) {
	if org == nil {
		return Response{}, fmt.Errorf("lctest: Install %q: org is nil", s.name)
	}
	s.setInstalled(org.OID, true)
	if s.protocol == Extension {
		return s.extEvent(ctx, org, "subscribe")
	}
	return s.Deliver(ctx, "org_install", org, nil)
}

// Uninstall sends org_uninstall, then removes the service from org: no
// detection reaches it from there any more.
func (s *Service) Uninstall(ctx context.Context, org *Org) (Response, error) {
	if org == nil {
		return Response{}, fmt.Errorf("lctest: Uninstall %q: org is nil", s.name)
	}
	defer s.setInstalled(org.OID, false)
	if s.protocol == Extension {
		return s.extEvent(ctx, org, "unsubscribe")
	}
	return s.Deliver(ctx, "org_uninstall", org, nil)
}

// Request sends a request webhook with data (the request parameters)
// to the service, which must be installed in org. An extension gets a
// request with its schema's default action (DefaultRequestAction when it
// marks none); RequestAction names another.
func (s *Service) Request(ctx context.Context, org *Org, data any) (Response, error) {
	if s.protocol == Extension {
		return s.RequestAction(ctx, org, s.defaultAction(), data)
	}
	if err := s.mustBeInstalled("request", org); err != nil {
		return Response{}, err
	}
	return s.Deliver(ctx, "request", org, data)
}

// Tick sends a scheduled etype: org_per_* to an org the service is
// installed in, or a global once_per_* with a nil org (no oid, no jwt).
// For sensor_per_* use TickSensor.
func (s *Service) Tick(ctx context.Context, org *Org, etype string) (Response, error) {
	if s.protocol == Extension {
		return Response{}, fmt.Errorf("lctest: Tick %s: an extension gets no ticks: use Cloud.Schedule", etype)
	}
	switch {
	case isPeriodic(etype, "org_per_"):
		if err := s.mustBeInstalled(etype, org); err != nil {
			return Response{}, err
		}
		return s.Deliver(ctx, etype, org, nil)
	case isPeriodic(etype, "once_per_"):
		if org != nil {
			return Response{}, fmt.Errorf("lctest: Tick %s: this etype is global and carries no oid: pass a nil org", etype)
		}
		return s.Deliver(ctx, etype, nil, nil)
	case isPeriodic(etype, "sensor_per_"):
		return Response{}, fmt.Errorf("lctest: Tick %s: a per-sensor etype needs a sensor: use TickSensor", etype)
	}
	return Response{}, fmt.Errorf("lctest: Tick: %q is not a scheduled etype (org_per_*, once_per_* or sensor_per_* with 1h, 3h, 12h, 24h, 7d or 30d)", etype)
}

// TickSensor sends a sensor_per_* etype about sensor, whose data carries
// its sid. The service must be installed in the sensor's org.
func (s *Service) TickSensor(ctx context.Context, sensor *Sensor, etype string) (Response, error) {
	if sensor == nil {
		return Response{}, fmt.Errorf("lctest: TickSensor %s: sensor is nil", etype)
	}
	if s.protocol == Extension {
		return Response{}, fmt.Errorf("lctest: TickSensor %s: an extension gets no ticks: use Cloud.Schedule", etype)
	}
	if !isPeriodic(etype, "sensor_per_") {
		return Response{}, fmt.Errorf("lctest: TickSensor: %q is not a sensor_per_* etype (1h, 3h, 12h, 24h, 7d or 30d)", etype)
	}
	if err := s.mustBeInstalled(etype, sensor.Org()); err != nil {
		return Response{}, err
	}
	return s.Deliver(ctx, etype, sensor.Org(), map[string]string{"sid": sensor.SID})
}

// isPeriodic reports whether etype is prefix followed by a known period.
func isPeriodic(etype, prefix string) bool {
	period, ok := strings.CutPrefix(etype, prefix)
	if !ok {
		return false
	}
	switch period {
	case "1h", "3h", "12h", "24h", "7d", "30d":
		return true
	}
	return false
}

func (s *Service) mustBeInstalled(etype string, org *Org) error {
	if org == nil {
		return fmt.Errorf("lctest: %s for service %q: org is nil", etype, s.name)
	}
	if !s.Installed(org) {
		return fmt.Errorf("lctest: %s for service %q: the service is not installed in org %q (%s): call Install first", etype, s.name, org.Name, org.OID)
	}
	return nil
}
