package host

import (
	"fmt"
	"math/rand/v2"
)

// buildLinux makes a Linux web server: systemd, sshd, cron and nginx, and a
// tool run from Downloads that started a hidden program from /tmp, kept
// alive by a crontab.
func buildLinux(m *image, r *rand.Rand) {
	home := "/home/" + m.user
	hidden := fmt.Sprintf("/tmp/.cache-%s/kworkerd", randomName(r, 6))
	tool := home + "/Downloads/" + pick(r, []string{"backup-tool", "sysupdate", "netcheck"})
	specs := []procSpec{
		{"/usr/lib/systemd/systemd", "--system --deserialize 42", "root", -1, false},
		{"/usr/lib/systemd/systemd-journald", "", "root", 0, false},
		{"/usr/sbin/sshd", "-D", "root", 0, false},
		{"/usr/sbin/cron", "-f", "root", 0, false},
		{"/usr/sbin/nginx", "-g daemon on; master_process on;", "root", 0, false},
		{"/usr/sbin/nginx", "-g daemon on; master_process on;", "www-data", 4, false},
		{"/usr/bin/bash", "", m.user, 2, false},
		{tool, "--daemon", m.user, 6, true},
		{hidden, "", m.user, 7, true},
	}
	m.addProcesses(r, specs, map[int]int{0: 1}, 1)
	m.services = []svc{
		{"ssh.service", "OpenBSD Secure Shell server", true, "/usr/sbin/sshd", "-D", ""},
		{"cron.service", "Regular background program processing daemon", true, "/usr/sbin/cron", "-f", ""},
		{"nginx.service", "A high performance web server and a reverse proxy server", true, "/usr/sbin/nginx", "", ""},
		{"systemd-journald.service", "Journal Service", true, "/usr/lib/systemd/systemd-journald", "", ""},
		{"ufw.service", "Uncomplicated firewall", false, "/usr/lib/ufw/ufw-init", "start", ""},
	}
	m.autoruns = []autorun{
		{"/etc/systemd/system/multi-user.target.wants/ssh.service", "", "/usr/sbin/sshd"},
		{"/etc/systemd/system/multi-user.target.wants/nginx.service", "", "/usr/sbin/nginx"},
		{"/var/spool/cron/crontabs/" + m.user, "", hidden},
	}
	m.conns = []conn{
		{proto: "tcp4", srcIP: "0.0.0.0", srcPort: 22, dstIP: "0.0.0.0", exe: "/usr/sbin/sshd", state: tcpListen},
		{proto: "tcp4", srcIP: "0.0.0.0", srcPort: 80, dstIP: "0.0.0.0", exe: "/usr/sbin/nginx", state: tcpListen},
		{proto: "tcp4", srcPort: 22, dstIP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(100)), dstPort: 32768 + r.IntN(20000), exe: "/usr/sbin/sshd", state: tcpEstablished},
		{proto: "tcp4", srcPort: 32768 + r.IntN(20000), dstIP: fmt.Sprintf("198.51.100.%d", 101+r.IntN(100)), dstPort: 4444, exe: hidden, state: tcpEstablished},
	}
	m.files = []string{home + "/notes.txt", home + "/.bashrc", "/etc/hosts", "/etc/passwd", "/etc/ssh/sshd_config"}
	m.version = [3]int{6, pick(r, []int{1, 5, 8}), 10 + r.IntN(90)}
}
