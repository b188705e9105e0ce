// Package host is the fake machine behind an emulated sensor: its users,
// processes, packages, services, autoruns, files and connections, all
// derived from the hostname and platform so that every run sees the same
// host, and the built-in answers to the sensor commands services send.
//
// Answers follow the samples of LimaCharlie's EDR events reference. Where
// the endpoint commands reference shows another shape for the same
// command, the CommandsReference dialect answers with that one instead.
package host
