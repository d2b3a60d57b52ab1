using ControlHost.Abstractions;
using Xunit;

namespace ControlHost.Preprocessors.Tests;

/// <summary>Options are parsed once, into their declared kinds.</summary>
public sealed class OptionValuesTests
{
    private static readonly IReadOnlyList<OptionSpec> Specs =
    [
        new("low", OptionKind.Integer, "100", 1, 255, ""),
        new("sigma", OptionKind.Number, "1.5", 0, 10, ""),
        new("invert", OptionKind.Boolean, "false", null, null, ""),
        new("name", OptionKind.Text, "x", null, null, ""),
    ];

    [Fact]
    public void Values_come_back_in_their_declared_kinds()
    {
        var values = OptionValues.Resolve(Specs, new Dictionary<string, string> { ["LOW"] = "7", ["invert"] = "True" });
        Assert.Equal(7, values.GetInt("low"));
        Assert.Equal(7.0, values.GetDouble("low"));
        Assert.Equal(1.5, values.GetDouble("sigma"));
        Assert.True(values.GetBool("invert"));
        Assert.Equal("x", values.Get("name"));
        Assert.Equal("7", values.All["low"]);
    }

    [Fact]
    public void Reading_an_option_as_another_kind_names_both()
    {
        var values = OptionValues.Resolve(Specs, null);
        var e = Assert.Throws<ArgumentException>(() => values.GetInt("sigma"));
        Assert.Contains("declared as a number, not a whole number", e.Message);
        Assert.Throws<ArgumentException>(() => values.GetBool("low"));
        Assert.Throws<KeyNotFoundException>(() => values.GetInt("nosuch"));
    }

    [Fact]
    public void A_declared_default_that_does_not_fit_is_the_plugins_fault()
    {
        IReadOnlyList<OptionSpec> broken = [new("size", OptionKind.Integer, "big", 1, 9, "")];
        var e = Assert.Throws<ArgumentException>(() => OptionValues.Resolve(broken, null));
        Assert.Contains("declared default", e.Message);
        Assert.Equal(3, OptionValues.Resolve(broken, new Dictionary<string, string> { ["size"] = "3" }).GetInt("size"));
        var given = Assert.Throws<ArgumentException>(() => OptionValues.Resolve(Specs, new Dictionary<string, string> { ["low"] = "0" }));
        Assert.Equal("option 'low': 0 is below the minimum 1", given.Message);
    }
}
