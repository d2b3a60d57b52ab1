namespace ControlHost.Cli.Tests;

public class ControlSpecTests
{
    [Fact]
    public void Unit_fields_and_condition_options_are_told_apart()
    {
        var spec = ControlSpec.Parse("canny=a.png,weight=0.5,resolution=256,low_threshold=50,mode=control-first");
        Assert.Equal(("canny", "a.png", 0.5f, 256), (spec.Condition, spec.ImagePath, spec.Weight, spec.ProcessorResolution));
        Assert.Equal("50", spec.Options["low_threshold"]);
        Assert.False(spec.Options.ContainsKey("resolution"));
        Assert.Equal(0, ControlSpec.Parse("canny=a.png,processor_res=512,pixel_perfect=true").ProcessorResolution);
    }

    [Theory]
    [InlineData("canny=a.png,resolution=1.5", "not a whole number")]
    [InlineData("canny=a.png,resolution=big", "not a number")]
    [InlineData("canny", "expected TYPE=IMAGE")]
    public void Bad_units_say_what_is_wrong(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<UserError>(() => ControlSpec.Parse(text)).Message);
}
