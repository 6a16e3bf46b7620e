package cli

import (
	"io"
	"os"
	"strconv"

	"golang.org/x/term"
)

// envGetter reads an environment variable; os.Getenv in the process, a map in
// tests.
type envGetter func(string) string

// isTerminal reports whether w is a terminal: an *os.File whose descriptor is
// a TTY. Buffers, pipes and files are not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// interactive reports whether decorations meant for a person (colour, the
// progress line) may go to a stream: it is a terminal, TERM is not "dumb"
// and no CI system runs us (CI is set by GitHub Actions, GitLab CI, CircleCI,
// Travis, Buildkite and most others, and their logs are read later, not
// watched).
func interactive(tty bool, getenv envGetter) bool {
	return tty && getenv("TERM") != "dumb" && getenv("CI") == ""
}

// colorEnabled decides whether a stream gets ANSI colour: only when it is
// interactive, and never with --no-color or a non-empty $NO_COLOR
// (https://no-color.org).
func colorEnabled(tty, noColorFlag bool, getenv envGetter) bool {
	return interactive(tty, getenv) && !noColorFlag && getenv("NO_COLOR") == ""
}

// styledWriter marks a stream that gets colour. Only streams that decided for
// colour are wrapped, so code that never styles writes exactly what it wrote
// before.
type styledWriter struct {
	io.Writer
}

// style colours the markers of text output. The zero style writes plain text,
// which is what every stream that is not a colour terminal gets.
type style struct {
	color bool
}

// styleOf returns the style of the stream w: coloured when the CLI wrapped it
// in a styledWriter, plain otherwise.
func styleOf(w io.Writer) style {
	_, ok := w.(*styledWriter)
	return style{color: ok}
}

// SGR codes used, the same for every command: red for what blocks or
// failed, yellow for warnings, green for success, bold for headings.
const (
	sgrReset  = "\x1b[0m"
	sgrBold   = "\x1b[1m"
	sgrRed    = "\x1b[1;31m"
	sgrYellow = "\x1b[33m"
	sgrGreen  = "\x1b[32m"
)

func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return code + text + sgrReset
}

// bad marks a denial, a failure or drift (DENY, FAIL, denied).
func (s style) bad(text string) string { return s.paint(sgrRed, text) }

// warn marks a warning (WARN, SKIP).
func (s style) warn(text string) string { return s.paint(sgrYellow, text) }

// good marks success (valid, PASS, in sync).
func (s style) good(text string) string { return s.paint(sgrGreen, text) }

// bold marks a heading.
func (s style) bold(text string) string { return s.paint(sgrBold, text) }

// severity colours a policy result's severity word: DENY red, WARN yellow.
func (s style) severity(word string) string {
	if word == "DENY" {
		return s.bad(word)
	}
	return s.warn(word)
}

// plural returns "1 warning" or "2 warnings": the count and the form of the
// noun that goes with it. Summaries use it so that no line says "1 objects".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// testStatus colours a test's status word: FAIL red, SKIP yellow, PASS green.
func (s style) testStatus(word string) string {
	switch word {
	case "FAIL":
		return s.bad(word)
	case "SKIP":
		return s.warn(word)
	default:
		return s.good(word)
	}
}
