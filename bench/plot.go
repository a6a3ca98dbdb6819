package bench

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// series is one set of bars in a grouped bar chart: one value per category.
type series struct {
	name   string
	values []float64
}

// barPanel draws grouped bars: one group per category, one bar per series.
func barPanel(title, ylabel string, categories []string, data []series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = true
	width := vg.Points(14)
	for i, s := range data {
		bars, err := plotter.NewBarChart(plotter.Values(s.values), width)
		if err != nil {
			return nil, fmt.Errorf("bars %s: %w", s.name, err)
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = width * vg.Length(float64(i)-float64(len(data)-1)/2)
		p.Add(bars)
		p.Legend.Add(s.name, bars)
	}
	p.NominalX(categories...)
	p.Y.Min = 0
	// Head room so the legend does not cover the tallest bars.
	p.Y.Max *= 1.35
	return p, nil
}

// savePanels stacks panels vertically into one PNG.
func savePanels(path string, panels []*plot.Plot, width vg.Length) error {
	if len(panels) == 0 {
		return errors.New("nothing to plot: the report has no matching results")
	}
	height := vg.Length(len(panels)) * 9 * vg.Centimeter
	img := vgimg.New(width, height)
	dc := draw.New(img)
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Millimeter * 4, PadBottom: vg.Millimeter * 4, PadLeft: vg.Millimeter * 4, PadRight: vg.Millimeter * 4, PadY: vg.Millimeter * 6}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func routeLabel(r Result) string {
	if r.Path == Direct {
		return "direct→" + r.Backend
	}
	return r.Path + "→" + r.Backend
}

// plotLatency draws, per method at the lowest concurrency, ghz's latency percentiles on
// every path: one line per path over p50…p99.9, on a log scale so that p50 stays readable
// beside the tail.
func plotLatency(path string, r Report) error {
	conc := slices.Min(r.Settings.Concurrencies)
	names := []string{"p50", "p90", "p99", "p99.9"}
	var panels []*plot.Plot
	for _, m := range []Method{SayHello, Login, SayHelloStream} {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s latency percentiles per path (ghz, concurrency %d, one connection)", m.Name, conc)
		if m.Stream {
			p.Title.Text = fmt.Sprintf("%s: a whole stream of %d messages (ghz, concurrency %d)", m.Name, StreamMessages, conc)
		}
		p.Y.Label.Text = "µs (log scale)"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Legend.Top = true
		p.Legend.Left = true
		lowest := math.Inf(1)
		n := 0
		for _, res := range r.Results {
			if res.Method != m.Name || res.Tool != ToolGHZ || res.Conn != Shared || res.Concurrency != conc {
				continue
			}
			var pts plotter.XYs
			for i, v := range []float64{res.Median.P50, res.Median.P90, res.Median.P99, res.Median.P999} {
				if v > 0 { // no OK call, no point: a log scale has no zero
					pts = append(pts, plotter.XY{X: float64(i), Y: v})
					lowest = min(lowest, v)
				}
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return fmt.Errorf("%s %s: %w", m.Name, routeLabel(res), err)
			}
			line.Color = plotutil.Color(n)
			line.Width = vg.Points(2)
			points.Color = plotutil.Color(n)
			points.Shape = plotutil.Shape(n)
			if res.Path != Direct {
				line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			}
			p.Add(line, points)
			p.Legend.Add(routeLabel(res), line, points)
			n++
		}
		if n == 0 {
			continue
		}
		p.NominalX(names...)
		p.X.Min, p.X.Max = -0.3, float64(len(names))-0.7
		p.Y.Min = lowest * 0.7
		p.Y.Max *= 3 // room for the legend above the lines
		panels = append(panels, p)
	}
	return savePanels(path, panels, 22*vg.Centimeter)
}

// plotMultiplexing draws, per concurrency, the client's p50 and p99 over one shared
// connection and with a new connection per call, on every SayHello path.
func plotMultiplexing(path string, r Report) error {
	var panels []*plot.Plot
	for _, conc := range r.Settings.Concurrencies {
		shared := map[string]Result{}
		for _, res := range r.Results {
			if res.Tool == ToolClient && res.Concurrency == conc && res.Conn == Shared {
				shared[routeLabel(res)] = res
			}
		}
		var cats []string
		data := []series{{name: "one shared HTTP/2 connection (p50)"}, {name: "a new connection per call (p50)"}}
		for _, res := range r.Results {
			if res.Tool != ToolClient || res.Concurrency != conc || res.Conn != PerCall {
				continue
			}
			sh, ok := shared[routeLabel(res)]
			if !ok {
				continue
			}
			cats = append(cats, fmt.Sprintf("%s\n%.1f× shared", routeLabel(res), ratio(res.Median.P50, sh.Median.P50)))
			for i, v := range []float64{sh.Median.P50, res.Median.P50} {
				data[i].values = append(data[i].values, v)
			}
		}
		if len(cats) == 0 {
			continue
		}
		p, err := barPanel(fmt.Sprintf("SayHello p50: one HTTP/2 connection vs a new connection per call (concurrency %d)", conc), "µs", cats, data)
		if err != nil {
			return err
		}
		panels = append(panels, p)
	}
	return savePanels(path, panels, 22*vg.Centimeter)
}
