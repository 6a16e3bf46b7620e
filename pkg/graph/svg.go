package graph

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Layout of the drawing, in SVG user units: the service on the left, one
// box per rule in the middle, one box per version on the right.
const (
	pad       = 16
	svcX      = pad
	svcW      = 150
	ruleX     = 210
	ruleW     = 300
	verX      = 640
	verW      = 170
	width     = verX + verW + pad
	lineH     = 16
	portGap   = 20
	verH      = 44
	verGap    = 14
	maxLabel  = 44 // runes of a rule's label shown; the <title> has all
	maxVerLbl = 22
)

// Colours, always paired with text or a line style that says the same.
const (
	colInk       = "#1f2328"
	colMuted     = "#57606a"
	colEdge      = "#0969da"
	colSuspended = "#9a6700"
	colFault     = "#cf222e"
	colBox       = "#f6f8fa"
	colBorder    = "#8c959f"
)

// SVG draws g as a standalone SVG document fragment (an <svg> element with
// the SVG namespace): no script, no external references, no style
// elements or attributes (presentation attributes only, so a strict CSP
// allows it inline); every text from the objects is XML-escaped, and
// characters XML cannot hold become U+FFFD. The root has role="img" and a
// <title> and <desc>; each node and edge has a <title> of its own, and
// every state shown by colour is also written as text (suspended, fault,
// abort) or drawn as a dashed line.
func SVG(g Graph) []byte {
	var b bytes.Buffer
	d := &drawing{b: &b, id: idOf(g)}
	d.draw(g)
	return b.Bytes()
}

type drawing struct {
	b *bytes.Buffer
	// id prefixes the element IDs, so that several graphs can be inlined
	// in one HTML page.
	id string
}

// idOf makes an XML ID from the graph's namespace and name: letters,
// digits and '-' only.
func idOf(g Graph) string {
	var b strings.Builder
	b.WriteString("g-")
	for _, r := range g.Namespace + "-" + g.Name {
		if r < utf8.RuneSelf && (r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func (d *drawing) printf(format string, args ...any) { fmt.Fprintf(d.b, format, args...) }

// text writes s escaped for XML character data and attribute values.
func (d *drawing) text(s string) {
	_ = xml.EscapeText(d.b, []byte(s)) // writes to a bytes.Buffer: never fails
}

func (d *drawing) title(s string) {
	d.b.WriteString("<title>")
	d.text(s)
	d.b.WriteString("</title>")
}

// label writes a <text> element at x,y with s shortened to max runes;
// attrs are extra attributes (a fill other than colInk among them).
func (d *drawing) label(x, y int, attrs, s string, max int) {
	if !strings.Contains(attrs, "fill=") {
		attrs += ` fill="` + colInk + `"`
	}
	d.printf(`<text x="%d" y="%d" font-family="sans-serif" font-size="12"%s>`, x, y, attrs)
	d.text(shorten(s, max))
	d.b.WriteString("</text>")
}

// ruleBox is a rule's place in the drawing.
type ruleBox struct {
	top, h int
	lines  []string
	ports  []int // y of each edge's start
}

func layoutRule(r Rule) ruleBox {
	lines := []string{r.Label()}
	if r.Abort != 0 {
		lines = append(lines, fmt.Sprintf("ABORT: every request gets HTTP %d", r.Abort))
	}
	if r.Fault != "" {
		lines = append(lines, "FAULT: "+r.Fault)
	}
	if r.Mirror != "" {
		lines = append(lines, fmt.Sprintf("mirror to %s (%g%%)", r.Mirror, r.MirrorPercent))
	}
	if r.Timeout != "" {
		lines = append(lines, "timeout "+r.Timeout)
	}
	h := 12 + lineH*len(lines)
	if p := 10 + portGap*len(r.Edges); p > h {
		h = p
	}
	rb := ruleBox{h: h, lines: lines}
	return rb
}

func (d *drawing) draw(g Graph) {
	// Rules, stacked.
	boxes := make([]ruleBox, len(g.Rules))
	y := pad + 24 // room for the column headings
	for i, r := range g.Rules {
		boxes[i] = layoutRule(r)
		boxes[i].top = y
		for j := range r.Edges {
			boxes[i].ports = append(boxes[i].ports, y+16+portGap*j)
		}
		y += boxes[i].h + 12
	}
	rulesH := y
	// Versions, spread over the same height.
	verTop := pad + 24
	verSpan := len(g.Versions)*(verH+verGap) - verGap
	height := max(rulesH, verTop+verSpan+pad, verTop+verH+pad)
	if free := rulesH - pad - verTop - verSpan; free > 0 && len(g.Versions) > 0 {
		verTop += free / 2
	}
	verY := map[string]int{}
	for i, v := range g.Versions {
		verY[v.ID()] = verTop + i*(verH+verGap)
	}

	d.printf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-title %s-desc" class="traffic-graph">`,
		width, height, width, height, d.id, d.id)
	d.printf(`<title id="%s-title">`, d.id)
	d.text("Traffic graph of " + g.Name + " in " + g.Namespace)
	d.printf(`</title><desc id="%s-desc">`, d.id)
	d.text(g.Summary())
	d.b.WriteString(`</desc>`)
	d.printf(`<defs><marker id="%s-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="%s"/></marker></defs>`, d.id, colMuted)

	// Column headings.
	d.label(svcX, pad+8, ` font-weight="bold"`, "Service", 20)
	d.label(ruleX, pad+8, ` font-weight="bold"`, "Rules (first match wins)", 40)
	d.label(verX, pad+8, ` font-weight="bold"`, "Versions", 20)

	// The service.
	svcY := (pad+24+rulesH-12)/2 - 20
	if svcY < pad+24 {
		svcY = pad + 24
	}
	host := g.Name
	if len(g.Hosts) > 0 {
		host = strings.Join(g.Hosts, ", ")
	}
	d.b.WriteString(`<g class="service">`)
	d.title("Service " + host + " (VirtualService " + g.Namespace + "/" + g.Name + ")")
	d.printf(`<rect x="%d" y="%d" width="%d" height="40" rx="20" fill="%s" stroke="%s"/>`, svcX, svcY, svcW, colBox, colInk)
	d.label(svcX+12, svcY+25, ` font-weight="bold"`, host, 20)
	d.b.WriteString(`</g>`)

	// Rules and their edges.
	for i, r := range g.Rules {
		rb := boxes[i]
		d.printf(`<g class="rule" id="%s-rule-%d">`, d.id, i+1)
		d.title(fmt.Sprintf("Rule %d: %s", i+1, strings.Join(rb.lines, "; ")))
		// Branch from the service, numbered in evaluation order.
		d.printf(`<path d="M %d %d C %d %d %d %d %d %d" fill="none" stroke="%s" stroke-width="1.5" marker-end="url(#%s-arrow)"/>`,
			svcX+svcW, svcY+20, svcX+svcW+30, svcY+20, ruleX-30, rb.top+14, ruleX, rb.top+14, colMuted, d.id)
		stroke, dash := colBorder, ""
		if r.Abort != 0 || r.Fault != "" {
			stroke, dash = colFault, ` stroke-dasharray="2 2"`
		}
		d.printf(`<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="%s" stroke="%s" stroke-width="1.5"%s/>`,
			ruleX, rb.top, ruleW, rb.h, colBox, stroke, dash)
		d.label(ruleX+8, rb.top+16, ` font-weight="bold"`, fmt.Sprintf("%d. %s", i+1, rb.lines[0]), maxLabel)
		for k, line := range rb.lines[1:] {
			fill := ""
			if strings.HasPrefix(line, "ABORT") || strings.HasPrefix(line, "FAULT") {
				fill = ` fill="` + colFault + `" font-weight="bold"`
			}
			d.label(ruleX+8, rb.top+16+lineH*(k+1), fill, line, maxLabel)
		}
		d.b.WriteString(`</g>`)
		if r.Abort != 0 {
			continue // no request reaches a destination
		}
		for j, e := range r.Edges {
			ty, ok := verY[e.To]
			if !ok {
				continue
			}
			py := rb.ports[j]
			ty += verH / 2
			color, dash, text := colEdge, "", fmt.Sprintf("%d%%", e.Weight)
			if e.Weight == 0 {
				color, dash, text = colSuspended, ` stroke-dasharray="6 4"`, "0% suspended"
			}
			d.printf(`<g class="edge" data-weight="%d">`, e.Weight)
			d.title(fmt.Sprintf("Rule %d sends %s to %s", i+1, text, e.To))
			d.printf(`<path d="M %d %d C %d %d %d %d %d %d" fill="none" stroke="%s" stroke-width="%d"%s marker-end="url(#%s-arrow)"/>`,
				ruleX+ruleW, py, ruleX+ruleW+60, py, verX-60, ty, verX, ty, color, strokeWidth(e.Weight), dash, d.id)
			d.label(ruleX+ruleW+6, py-4, ` class="weight"`, text, 16)
			d.b.WriteString(`</g>`)
		}
		if r.Mirror != "" {
			if ty, ok := verY[r.Mirror]; ok {
				py := rb.top + rb.h - 4
				d.b.WriteString(`<g class="edge mirror">`)
				d.title(fmt.Sprintf("Rule %d mirrors %g%% of its requests to %s", i+1, r.MirrorPercent, r.Mirror))
				d.printf(`<path d="M %d %d C %d %d %d %d %d %d" fill="none" stroke="%s" stroke-width="1" stroke-dasharray="1 3" marker-end="url(#%s-arrow)"/>`,
					ruleX+ruleW, py, ruleX+ruleW+60, py, verX-60, ty+verH-8, verX, ty+verH-8, colMuted, d.id)
				d.b.WriteString(`</g>`)
			}
		}
	}

	// Versions.
	for _, v := range g.Versions {
		y := verY[v.ID()]
		state, stroke, dash := "", colInk, ""
		switch {
		case v.Suspended:
			state, stroke, dash = "SUSPENDED (weight 0)", colSuspended, ` stroke-dasharray="6 4"`
		case v.MirrorOnly:
			state, stroke, dash = "mirrored copies only", colMuted, ` stroke-dasharray="1 3"`
		case v.Unrouted:
			state, stroke, dash = "no route sends traffic", colMuted, ` stroke-dasharray="2 2"`
		case !v.Declared && v.Name != "" && v.Host == "":
			state = "no DestinationRule subset"
		}
		d.b.WriteString(`<g class="version">`)
		t := "Version " + v.Label()
		if state != "" {
			t += ": " + state
		}
		d.title(t)
		d.printf(`<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="#ffffff" stroke="%s" stroke-width="2"%s/>`, verX, y, verW, verH, stroke, dash)
		d.label(verX+10, y+18, ` font-weight="bold"`, v.Label(), maxVerLbl)
		if state != "" {
			d.label(verX+10, y+34, ` fill="`+stroke+`"`, state, 26)
		}
		d.b.WriteString(`</g>`)
	}
	d.b.WriteString(`</svg>`)
}

// strokeWidth makes heavier edges thicker: 1 to 5 units.
func strokeWidth(weight int64) int {
	return 1 + int(min(max(weight, 0), 100)/25)
}

// shorten cuts s to max runes, ending with "…" when cut.
func shorten(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
