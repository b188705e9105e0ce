package host

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// buildWindows makes a Windows desktop: system processes and services, a
// browser, and a dropper run from Downloads that started an updater from
// a temporary directory, registered to run at logon.
func buildWindows(m *image, r *rand.Rand) {
	const system, local = `NT AUTHORITY\SYSTEM`, `NT AUTHORITY\LOCAL SERVICE`
	user := strings.ToUpper(m.hostname) + `\` + m.user
	home := `C:\Users\` + m.user
	dropper := fmt.Sprintf(`%s\Downloads\invoice_%04d.exe`, home, r.IntN(10000))
	updater := fmt.Sprintf(`%s\AppData\Local\Temp\%s\updater.exe`, home, randomName(r, 8))
	specs := []procSpec{
		{`C:\Windows\System32\smss.exe`, "", system, -1, false},
		{`C:\Windows\System32\csrss.exe`, "ObjectDirectory=\\Windows SharedSection=1024,20480,768", system, -1, false},
		{`C:\Windows\System32\wininit.exe`, "", system, -1, false},
		{`C:\Windows\System32\services.exe`, "", system, 2, false},
		{`C:\Windows\System32\lsass.exe`, "", system, 2, false},
		{`C:\Windows\System32\svchost.exe`, "-k netsvcs -p", system, 3, false},
		{`C:\Windows\System32\svchost.exe`, "-k LocalService -p", local, 3, false},
		{`C:\Windows\System32\spoolsv.exe`, "", system, 3, false},
		{`C:\Program Files\Windows Defender\MsMpEng.exe`, "", system, 3, false},
		{`C:\Windows\explorer.exe`, "", user, -1, false},
		{`C:\Program Files\Google\Chrome\Application\chrome.exe`, "", user, 9, false},
		{dropper, "", user, 9, true},
		{updater, "--silent --hidden", user, 11, true},
	}
	m.addProcesses(r, specs, nil, 4)
	m.services = []svc{
		{"Dnscache", "DNS Client", true, `C:\Windows\System32\svchost.exe`, "-k netsvcs -p", `%SystemRoot%\System32\dnsrslvr.dll`},
		{"EventLog", "Windows Event Log", true, `C:\Windows\System32\svchost.exe`, "-k LocalService -p", `%SystemRoot%\System32\wevtsvc.dll`},
		{"Spooler", "Print Spooler", true, `C:\Windows\System32\spoolsv.exe`, "", ""},
		{"WinDefend", "Microsoft Defender Antivirus Service", true, `C:\Program Files\Windows Defender\MsMpEng.exe`, "", ""},
		{"wuauserv", "Windows Update", false, `C:\Windows\System32\svchost.exe`, "-k netsvcs -p", `%systemroot%\system32\wuaueng.dll`},
		{"RemoteRegistry", "Remote Registry", false, `C:\Windows\System32\svchost.exe`, "-k localService -p", `%SystemRoot%\system32\regsvc.dll`},
	}
	m.autoruns = []autorun{
		{`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\SecurityHealth`,
			`%windir%\system32\SecurityHealthSystray.exe`, `C:\Windows\System32\SecurityHealthSystray.exe`},
		{`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\GoogleChromeAutoLaunch`,
			`"C:\Program Files\Google\Chrome\Application\chrome.exe" --no-startup-window /prefetch:5`, `C:\Program Files\Google\Chrome\Application\chrome.exe`},
		{`HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\Updater`, updater + " --silent", updater},
	}
	m.conns = []conn{
		{proto: "tcp4", srcIP: "0.0.0.0", srcPort: 135, dstIP: "0.0.0.0", exe: `C:\Windows\System32\svchost.exe`, state: tcpListen},
		{proto: "tcp4", srcIP: "0.0.0.0", srcPort: 445, dstIP: "0.0.0.0", exe: `C:\Windows\System32\svchost.exe`, state: tcpListen},
		{proto: "udp4", srcIP: "0.0.0.0", srcPort: 5353, dstIP: "0.0.0.0", exe: `C:\Windows\System32\svchost.exe`, nthOfSameExec: 1},
		{proto: "tcp4", srcPort: 49152 + r.IntN(10000), dstIP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(100)), dstPort: 443, exe: `C:\Program Files\Google\Chrome\Application\chrome.exe`, state: tcpEstablished},
		{proto: "tcp4", srcPort: 49152 + r.IntN(10000), dstIP: fmt.Sprintf("198.51.100.%d", 101+r.IntN(100)), dstPort: 4444, exe: updater, state: tcpEstablished},
	}
	m.files = []string{
		home + `\Documents\quarterly-report.docx`, home + `\Documents\budget.xlsx`,
		home + `\Downloads\setup.msi`, `C:\Windows\System32\drivers\etc\hosts`,
	}
	m.version = [3]int{10, 0, pick(r, []int{19045, 22621, 22631, 26100})}
}
