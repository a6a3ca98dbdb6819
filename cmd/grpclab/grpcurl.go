package main

import (
	"path/filepath"
	"strings"

	"github.com/grpclab/grpclab/cluster"
	"github.com/grpclab/grpclab/scenarios/call"
	"github.com/grpclab/grpclab/services"
)

// maxColumns bounds every line grpclab prints for a person: commands wrap with " \" so they
// still paste, text wraps at spaces.
const maxColumns = 100

// protoDir is where up and demo write the .proto sources, under the state directory, so
// that a printed grpcurl line finds them from any directory; down removes it.
const protoDir = "proto"

// shellCommand is a command line for a person to paste: its words, quoted when printed.
type shellCommand []string

// shellQuote quotes a word for a POSIX shell: bare when it holds only safe characters, else
// in single quotes (a single quote inside becomes '\”).
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lines renders the command indented, wrapped so that no line is longer than width: every
// line but the last ends in " \" and continuation lines are indented four more spaces. A
// flag stays on the line of its value where the two fit.
func (c shellCommand) lines(indent string, width int) []string {
	var groups []string
	for i := 0; i < len(c); i++ {
		w := shellQuote(c[i])
		if strings.HasPrefix(c[i], "-") && i+1 < len(c) && flagTakesValue(c[i]) {
			v := shellQuote(c[i+1])
			if len(indent)+4+len(w)+1+len(v)+2 <= width {
				i++
				w += " " + v
			}
		}
		groups = append(groups, w)
	}
	var out []string
	line := indent
	for _, g := range groups {
		switch {
		case line == indent:
			line += g
		case len(line)+1+len(g)+2 > width:
			out = append(out, line+" \\")
			line = indent + "    " + g
		default:
			line += " " + g
		}
	}
	return append(out, line)
}

// flagTakesValue lists the flags of the printed commands that take a value.
func flagTakesValue(flag string) bool {
	switch flag {
	case "-cacert", "-authority", "-proto", "-import-path", "-H", "-d", "-connect-timeout", "-max-time", "-X":
		return true
	}
	return false
}

// grpcurlCall is one grpcurl invocation against an entry point or a pod.
type grpcurlCall struct {
	// Netns runs it inside a network namespace of the local data plane (ip netns exec).
	Netns string
	// Addr is host:port; Host the :authority and TLS server name ("" for none).
	Addr, Host string
	// CAFile verifies the server; Plaintext dials h2c instead.
	CAFile    string
	Plaintext bool
	// ImportPath and Proto point grpcurl at the .proto sources where reflection is not
	// routed; empty means grpcurl asks the server by reflection.
	ImportPath, Proto string
	// Metadata are key, value pairs sent as -H "key: value".
	Metadata []string
	// Verbose (-v) prints the response headers, x-served-by among them.
	Verbose bool
	// ConnectTimeout in seconds, when a refusal must not take grpcurl's default 10 s.
	ConnectTimeout string
	// Args follow the address: a method, or list / describe SYMBOL.
	Args []string
}

func (g grpcurlCall) command() shellCommand {
	var c shellCommand
	if g.Netns != "" {
		c = append(c, "ip", "netns", "exec", g.Netns)
	}
	c = append(c, "grpcurl")
	if g.Plaintext {
		c = append(c, "-plaintext")
	} else {
		c = append(c, "-cacert", g.CAFile)
	}
	if g.Host != "" {
		// grpcurl uses the authority as the TLS server name too.
		c = append(c, "-authority", g.Host)
	}
	if g.Proto != "" {
		c = append(c, "-import-path", g.ImportPath, "-proto", g.Proto)
	}
	if g.ConnectTimeout != "" {
		c = append(c, "-connect-timeout", g.ConnectTimeout)
	}
	for i := 0; i+1 < len(g.Metadata); i += 2 {
		c = append(c, "-H", g.Metadata[i]+": "+g.Metadata[i+1])
	}
	if g.Verbose {
		c = append(c, "-v")
	}
	c = append(c, g.Addr)
	return append(c, g.Args...)
}

// writeProtos puts the .proto sources under the state directory and returns their import
// path (absolute).
func writeProtos(stateDir string) (string, error) {
	return services.WriteProtos(filepath.Join(stateDir, protoDir))
}

// tryLogin is the command `up` prints: the demo user alice's Login through the Gateway on
// host, the one whose route names Login. The production routes refuse reflection, so it
// names the .proto file.
func tryLogin(ep cluster.Endpoints, host, importPath string) shellCommand {
	return grpcurlCall{
		Addr: ep.Gateway.Address, Host: host, CAFile: ep.CAFile,
		ImportPath: importPath, Proto: services.UserProto,
		Metadata: call.Alice(),
		Args:     []string{loginMethod},
	}.command()
}
