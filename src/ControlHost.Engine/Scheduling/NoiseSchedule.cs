using System.Text.Json;

namespace ControlHost.Engine.Scheduling;

/// <summary>What the UNet predicts.</summary>
public enum PredictionType { Epsilon, VPrediction }

/// <summary>
/// The training noise schedule of a model, from its scheduler_config.json: betas, the cumulative alphas and the
/// k-diffusion sigmas sqrt((1 - alpha_bar) / alpha_bar).
/// </summary>
public sealed class NoiseSchedule
{
    public NoiseSchedule(int trainTimesteps = 1000, double betaStart = 0.00085, double betaEnd = 0.012,
        string betaSchedule = "scaled_linear", PredictionType prediction = PredictionType.Epsilon, int stepsOffset = 1)
    {
        if (trainTimesteps < 2) throw new ArgumentException($"num_train_timesteps {trainTimesteps} is too small");
        TrainTimesteps = trainTimesteps;
        Prediction = prediction;
        StepsOffset = stepsOffset;
        var betas = new double[trainTimesteps];
        for (var i = 0; i < trainTimesteps; i++)
        {
            var f = (double)i / (trainTimesteps - 1);
            betas[i] = betaSchedule switch
            {
                // scaled_linear: linear in sqrt(beta), then squared (SD 1.x / 2.x)
                "scaled_linear" => Math.Pow(Math.Sqrt(betaStart) + f * (Math.Sqrt(betaEnd) - Math.Sqrt(betaStart)), 2),
                "linear" => betaStart + f * (betaEnd - betaStart),
                _ => throw new NotSupportedException($"beta_schedule '{betaSchedule}' is not supported (scaled_linear, linear)"),
            };
        }
        AlphasCumprod = new double[trainTimesteps];
        var prod = 1.0;
        for (var i = 0; i < trainTimesteps; i++)
        {
            prod *= 1 - betas[i];
            AlphasCumprod[i] = prod;
        }
        Sigmas = AlphasCumprod.Select(a => Math.Sqrt((1 - a) / a)).ToArray();
        LogSigmas = Sigmas.Select(s => Math.Log(s)).ToArray();
    }

    public int TrainTimesteps { get; }
    public PredictionType Prediction { get; }
    public int StepsOffset { get; }
    public double[] AlphasCumprod { get; }
    public double[] Sigmas { get; }
    private double[] LogSigmas { get; }
    public double SigmaMin => Sigmas[0];
    public double SigmaMax => Sigmas[^1];

    /// <summary>Reads a diffusers scheduler_config.json; absent keys take the SD 1.x values.</summary>
    public static NoiseSchedule FromConfig(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        int Int(string k, int d) => root.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : d;
        double Dbl(string k, double d) => root.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : d;
        string Str(string k, string d) => root.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : d;
        var prediction = Str("prediction_type", "epsilon") switch
        {
            "epsilon" => PredictionType.Epsilon,
            "v_prediction" => PredictionType.VPrediction,
            var p => throw new NotSupportedException($"{path}: prediction_type '{p}' is not supported (epsilon, v_prediction)"),
        };
        return new NoiseSchedule(Int("num_train_timesteps", 1000), Dbl("beta_start", 0.00085), Dbl("beta_end", 0.012),
            Str("beta_schedule", "scaled_linear"), prediction, Int("steps_offset", 1));
    }

    /// <summary>Sigma at a fractional timestep, interpolating log-sigma as k-diffusion does.</summary>
    public double SigmaAt(double t)
    {
        t = Math.Clamp(t, 0, TrainTimesteps - 1);
        var lo = (int)Math.Floor(t);
        var hi = Math.Min(lo + 1, TrainTimesteps - 1);
        var w = t - lo;
        return Math.Exp((1 - w) * LogSigmas[lo] + w * LogSigmas[hi]);
    }

    /// <summary>The fractional timestep of a sigma (the inverse of <see cref="SigmaAt"/>).</summary>
    public double TimestepOf(double sigma)
    {
        var logSigma = Math.Log(sigma);
        if (logSigma <= LogSigmas[0]) return 0;
        if (logSigma >= LogSigmas[^1]) return TrainTimesteps - 1;
        var hi = Array.FindIndex(LogSigmas, s => s >= logSigma);
        var lo = hi - 1;
        var w = (logSigma - LogSigmas[lo]) / (LogSigmas[hi] - LogSigmas[lo]);
        return lo + w;
    }
}
