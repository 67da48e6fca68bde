package report

import (
	"fmt"
	"math"
	"slices"

	"github.com/gameday-sre/gameday/verify"
)

// timelinePicture is the report's timeline as an SVG: a lane of
// milestones (objectives, penalties, hints, the end) above a lane per
// actor, on one time axis since handover. Every timeline entry is one
// mark, whose tooltip says what it was.
type timelinePicture struct {
	Width, Height int
	// Left is where the time axis starts (lane labels sit left of it).
	Left  int
	Lanes []svgLane
	Ticks []svgTick
	Marks []svgMark
	// Milestones are the vertical lines of achieved objectives.
	Milestones []svgLine
}

type svgLane struct {
	Label string
	Y     int // centre line
}

type svgTick struct {
	X     float64
	Label string
}

type svgLine struct {
	X      float64
	Y1, Y2 int
}

// svgMark is one timeline entry: Kind picks its shape and colour.
type svgMark struct {
	X     float64
	Y     int
	Kind  string
	Title string
}

const (
	svgWidth   = 960
	svgLeft    = 130
	svgRight   = 20
	svgTop     = 16
	svgLaneGap = 44
	svgAxis    = 34
)

// milestoneLane is the label of the lane of what the game observed.
const milestoneLane = "milestones"

// picture lays out a timeline. end is how long the run lasted after
// handover; the axis spans at least that and the last entry.
func picture(entries []TimelineEntry, end verify.Seconds) timelinePicture {
	span := float64(max(end, 1))
	for _, e := range entries {
		span = max(span, float64(e.At))
	}
	lanes := []string{milestoneLane}
	for _, e := range entries {
		if a := laneOf(e); !slices.Contains(lanes, a) {
			lanes = append(lanes, a)
		}
	}
	p := timelinePicture{Width: svgWidth, Left: svgLeft, Height: svgTop + len(lanes)*svgLaneGap + svgAxis}
	y := map[string]int{}
	for i, l := range lanes {
		y[l] = svgTop + i*svgLaneGap + svgLaneGap/2
		p.Lanes = append(p.Lanes, svgLane{Label: l, Y: y[l]})
	}
	plot := float64(svgWidth - svgLeft - svgRight)
	x := func(s float64) float64 { return math.Round((float64(svgLeft)+plot*s/span)*10) / 10 }
	step := tickStep(span)
	for s := 0.0; s <= span+1e-9; s += step {
		p.Ticks = append(p.Ticks, svgTick{X: x(s), Label: verify.Clock(verify.Seconds(s))})
	}
	bottom := svgTop + len(lanes)*svgLaneGap
	for _, e := range entries {
		p.Marks = append(p.Marks, svgMark{X: x(float64(e.At)), Y: y[laneOf(e)], Kind: e.Kind, Title: fmt.Sprintf("%s %s", verify.Clock(e.At), e.Text)})
		if e.Kind == KindObjective {
			p.Milestones = append(p.Milestones, svgLine{X: x(float64(e.At)), Y1: svgTop, Y2: bottom})
		}
	}
	return p
}

// laneOf is the lane an entry is drawn in.
func laneOf(e TimelineEntry) string {
	if e.Actor == "" {
		return milestoneLane
	}
	return e.Actor
}

// tickStep picks a round interval that gives the axis at most 10 ticks.
func tickStep(span float64) float64 {
	for _, s := range []float64{10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if span/s <= 10 {
			return s
		}
	}
	return math.Ceil(span/10/3600) * 3600
}
