package host

import (
	"fmt"
	"strconv"
	"strings"
)

// flags names the flags a command takes: each spelling maps to the
// flag's name. Every flag takes a value, given as the next word or, for
// the long spellings, after "=".
type flags map[string]string

// parse splits args into flag values (by name) and positional arguments.
// A flag given twice, an unknown flag and a flag without its value are
// errors, as the sensor's parser refuses them.
func (spec flags) parse(args []string) (map[string]string, []string, error) {
	values := map[string]string{}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || len(a) == 1 {
			pos = append(pos, a)
			continue
		}
		spelling, value, inline := a, "", false
		if strings.HasPrefix(a, "--") {
			spelling, value, inline = strings.Cut(a, "=")
		}
		name, ok := spec[spelling]
		if !ok {
			return nil, nil, fmt.Errorf("unknown flag %q", spelling)
		}
		if !inline {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag %s needs a value", spelling)
			}
			i++
			value = args[i]
		}
		if _, dup := values[name]; dup {
			return nil, nil, fmt.Errorf("flag %s is given twice", spelling)
		}
		values[name] = value
	}
	return values, pos, nil
}

// pidValue reads the pid flag, if present.
func pidValue(values map[string]string) (n int, present bool, err error) {
	v, ok := values["pid"]
	if !ok {
		return 0, false, nil
	}
	n, err = strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, true, fmt.Errorf("process id %q is not a number", v)
	}
	return n, true, nil
}

// pidFlag is the flag set of the commands that take a process id.
var pidFlag = flags{"-p": "pid", "--pid": "pid"}

// filePathFlag is the flag set of the commands that take a file path,
// which may also be given as the only positional argument.
var filePathFlag = flags{"-f": "file_path", "--file_path": "file_path"}
