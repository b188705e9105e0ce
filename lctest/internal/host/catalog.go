package host

import "math/rand/v2"

// ubuntu is the maintainer dpkg names for Ubuntu's own packages.
const ubuntu = "Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>"

// packageCatalog lists the packages a host of platform p may have
// installed. On Windows, where the package list comes from the uninstall
// entries of the registry, 7-Zip's entry records no version, as such
// entries sometimes do.
func packageCatalog(p Platform) []pkg {
	switch p {
	case Windows:
		return []pkg{
			{"Google Chrome", "126.0.6478.127", "Google LLC"}, {"Microsoft Edge", "126.0.2592.87", "Microsoft Corporation"},
			{"7-Zip 23.01 (x64)", "", "Igor Pavlov"}, {"Microsoft Visual C++ 2015-2022 Redistributable (x64)", "14.38.33135.0", "Microsoft Corporation"},
			{"Mozilla Firefox (x64 en-US)", "127.0.2", "Mozilla"}, {"Notepad++ (64-bit x64)", "8.6.8", "Notepad++ Team"},
			{"Python 3.12.4 (64-bit)", "3.12.4150.0", "Python Software Foundation"}, {"Git", "2.45.2", "The Git Development Community"},
			{"Microsoft Teams", "24124.2315.2911.3357", "Microsoft Corporation"}, {"Zoom Workplace (64-bit)", "6.1.1", "Zoom Video Communications, Inc."},
		}
	case MacOS:
		return []pkg{
			{"Safari", "17.5", "Apple Inc."}, {"Google Chrome", "126.0.6478.127", "Google LLC"}, {"Slack", "4.38.125", "Slack Technologies, Inc."},
			{"Xcode", "15.4", "Apple Inc."}, {"zoom.us", "6.1.1", "Zoom Video Communications, Inc."}, {"Visual Studio Code", "1.90.2", "Microsoft Corporation"},
			{"Firefox", "127.0.2", "Mozilla"}, {"1Password", "8.10.36", "AgileBits Inc."},
		}
	default:
		return []pkg{
			{"openssl", "3.0.13-0ubuntu3.1", ubuntu}, {"openssh-server", "1:9.6p1-3ubuntu13.3", ubuntu}, {"bash", "5.2.21-2ubuntu4", ubuntu},
			{"coreutils", "9.4-3ubuntu6", ubuntu}, {"nginx", "1.24.0-2ubuntu7", ubuntu}, {"curl", "8.5.0-2ubuntu10.1", ubuntu},
			{"python3", "3.12.3-0ubuntu1", ubuntu}, {"sudo", "1.9.15p5-3ubuntu5", ubuntu}, {"systemd", "255.4-1ubuntu8.1", ubuntu},
			{"cron", "3.0pl1-184ubuntu2", ubuntu},
		}
	}
}

// pickPackages keeps most of catalog, in catalog order, always at least 5.
func pickPackages(r *rand.Rand, catalog []pkg) []pkg {
	var out []pkg
	for i, p := range catalog {
		if i < 5 || r.IntN(3) > 0 {
			out = append(out, p)
		}
	}
	return out
}
