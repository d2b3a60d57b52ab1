using BenchmarkDotNet.Attributes;
using ControlHost.Abstractions;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Placement;

namespace ControlHost.Bench;

/// <summary>
/// Box placement's own costs, outside the model: suggested boxes on a 1024x1024 background (target under 200 ms),
/// and the crop transform's forward warp and paste back for an only-masked box at the embedded model's 128x128
/// canvas and at SD's 512x512.
/// </summary>
public class PlacementBenchmarks
{
    private RgbImage _background = RgbImage.Black(1, 1);
    private RgbImage _canvas = RgbImage.Black(1, 1);
    private byte[] _mask = [];
    private CropTransform _transform = CropTransform.Whole(1, 1, 8, 8);

    [Params(128, 512)]
    public int Canvas { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _background = PreprocessorBenchmarks.Scene(1024);
        var box = new PixelBox(400, 380, 220, 260);
        _mask = MaskBuilder.FromBox(box, 1024, 1024, "box");
        _transform = CropTransform.AroundBox(box, 32, 1024, 1024, Canvas, Canvas);
        _canvas = _transform.Apply(_background);
    }

    [Benchmark]
    public object SuggestBoxes1024() => BoxSuggester.Suggest(_background, 120, 160, 5);

    [Benchmark]
    public object CropToCanvas() => _transform.Apply(_background);

    [Benchmark]
    public object PasteBack() => _transform.PasteBack(_background, _canvas, _mask);
}
