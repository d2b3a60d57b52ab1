namespace ControlHost.Bench.Results;

/// <summary>The report's charts, drawn by ScottPlot and saved as PNG beside RESULTS.md.</summary>
internal static class Plots
{
    public static void Lines(string path, string title, string xLabel, string yLabel, IEnumerable<(string Name, double[] X, double[] Y)> series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, x, y) in series)
        {
            var line = plot.Add.Scatter(x, y);
            line.LegendText = name;
            line.MarkerSize = 7;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(path, 720, 440);
    }
}
