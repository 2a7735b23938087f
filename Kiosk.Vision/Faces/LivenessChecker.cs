using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Models;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Vision.Faces;

/// <summary>
/// The presentation-attack (spoof) classifier of the default package, fr_liveness: a 128x128 RGB crop of the face box
/// grown 2.7 times (raw 0..255 values), three classes. Which class means "live" is not documented; the package's own
/// code reports class 0, which is taken as the default and must be confirmed by experiment with real and spoofed
/// faces before the gate is switched on (it is off by default).
/// </summary>
public sealed record LivenessSpec : ModelFileSpec
{
    /// <summary>The face box (made square on its height) is grown by this factor around its centre.</summary>
    public float BoxScale { get; init; } = 2.7f;
    /// <summary>Index of the "live" class in the model's output.</summary>
    public int LiveClass { get; init; }

    public static LivenessSpec Default { get; } = new()
    {
        Name = "fr_liveness",
        Description = "presentation-attack classifier, 128x128 RGB raw, 3 classes (faceplugin package)",
        File = "default/fr_liveness.onnx",
        Sha256 = "afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d",
        InputName = "input",
        Width = 128, Height = 128,
        Channels = ChannelOrder.Rgb,
        Normalization = Normalization.Raw,
    };

    public override void Validate()
    {
        base.Validate();
        if (BoxScale is < 1 or > 5) throw new ModelSpecException($"liveness spec '{Name}': boxScale must be 1..5");
        if (LiveClass < 0) throw new ModelSpecException($"liveness spec '{Name}': liveClass must be >= 0");
    }
}

/// <summary>Scores how likely a face is live (not a photo or a screen). Not thread-safe.</summary>
public sealed class LivenessChecker : IDisposable
{
    private readonly IInferenceModel _model;
    private readonly int _classes;
    public LivenessSpec Spec { get; }
    public IInferenceModel Model => _model;

    public LivenessChecker(LivenessSpec spec, InferenceOptions options)
    {
        Spec = spec;
        _model = ModelFiles.OpenImageModel(spec, options, m => (int)m.Outputs[0].ElementCount, out _classes);
        if (spec.LiveClass >= _classes)
        {
            _model.Dispose();
            throw new ModelSpecMismatchException($"Liveness '{spec.Name}': liveClass {spec.LiveClass} but the model has {_classes} classes");
        }
    }

    /// <summary>Softmax probabilities of every class into <paramref name="probabilities"/>; returns the live class's.</summary>
    public float Score(BgrImage image, in BoxF box, Span<float> probabilities = default)
    {
        float side = box.Height * Spec.BoxScale;
        var c = box.Center;
        var map = ImageOps.RectToGrid(c.X - side / 2, c.Y - side / 2, side, side, Spec.Width, Spec.Height);
        ImageOps.WarpToTensor(image, map, _model.Input(), Spec.Width, Spec.Height, Spec.Layout, Spec.Channels, Spec.Normalization, BorderMode.Replicate);
        _model.Run();
        ReadOnlySpan<float> logits = _model.Output();
        float max = float.NegativeInfinity;
        foreach (var v in logits) max = MathF.Max(max, v);
        float sum = 0, live = 0;
        for (int i = 0; i < _classes; i++) sum += MathF.Exp(logits[i] - max);
        for (int i = 0; i < _classes; i++)
        {
            float p = MathF.Exp(logits[i] - max) / sum;
            if (i < probabilities.Length) probabilities[i] = p;
            if (i == Spec.LiveClass) live = p;
        }
        return live;
    }

    public void Dispose() => _model.Dispose();
}
