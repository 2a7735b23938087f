using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Models;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Vision.Faces;

/// <summary>
/// Runs a landmark spec on one face box and reduces its points to the five alignment points. Not thread-safe.
/// </summary>
public sealed class LandmarkDetector : IDisposable
{
    private readonly IInferenceModel _model;
    private readonly int _points;

    public LandmarkSpec Spec { get; }
    public IInferenceModel Model => _model;

    public LandmarkDetector(LandmarkSpec spec, InferenceOptions options)
    {
        Spec = spec;
        _model = ModelFiles.OpenImageModel(spec, options, m => PointCount(spec, m), out _points);
    }

    private static int PointCount(LandmarkSpec spec, IInferenceModel model)
    {
        int points = spec.Output == LandmarkOutput.Points68Normalized ? 68 : 5;
        if (model.Outputs[0].ElementCount != 2 * points)
            throw new ModelSpecMismatchException(
                $"Landmarks '{spec.Name}': output {model.Outputs[0].ShapeText} does not hold {points} (x,y) points");
        return points;
    }

    /// <summary>
    /// The region the model sees, grown by the spec's margin: a square centred on the box with side = box height (the
    /// detector's boxes are taller than wide; the default landmark model was trained on these squares), or the box
    /// itself when the spec is not square.
    /// </summary>
    public BoxF CropRegion(in BoxF box)
    {
        var c = box.Center;
        float h = box.Height * (1 + 2 * Spec.BoxMargin);
        float w = Spec.Square ? h : box.Width * (1 + 2 * Spec.BoxMargin);
        return new BoxF(c.X - w / 2, c.Y - h / 2, c.X + w / 2, c.Y + h / 2);
    }

    /// <summary>Five points (image pixels) for the face in <paramref name="box"/>.</summary>
    public FivePoints Detect(BgrImage image, in BoxF box, Span<PointF> allPoints = default)
    {
        var region = CropRegion(box);
        var map = ImageOps.RectToGrid(region.X1, region.Y1, region.Width, region.Height, Spec.Width, Spec.Height);
        ImageOps.WarpToTensor(image, map, _model.Input(), Spec.Width, Spec.Height, Spec.Layout, Spec.Channels,
            Spec.Normalization, BorderMode.Replicate);
        _model.Run();
        ReadOnlySpan<float> o = _model.Output();
        float sx = region.Width, sy = region.Height;
        if (!allPoints.IsEmpty)
        {
            for (int i = 0; i < Math.Min(allPoints.Length, _points); i++)
                allPoints[i] = new PointF(region.X1 + o[2 * i] * sx, region.Y1 + o[2 * i + 1] * sy);
        }
        if (_points == 5)
            return new FivePoints(At(o, 0, region), At(o, 1, region), At(o, 2, region), At(o, 3, region), At(o, 4, region));
        return new FivePoints(Mean(o, 36, 41, region), Mean(o, 42, 47, region), At(o, 30, region), At(o, 48, region), At(o, 54, region));
    }

    private static PointF At(ReadOnlySpan<float> o, int i, in BoxF region) =>
        new(region.X1 + o[2 * i] * region.Width, region.Y1 + o[2 * i + 1] * region.Height);

    // iBUG 68: 36..41 and 42..47 are the eye contours (image-left eye first), 30 the nose tip, 48/54 the mouth corners.
    private static PointF Mean(ReadOnlySpan<float> o, int from, int to, in BoxF region)
    {
        float x = 0, y = 0;
        for (int i = from; i <= to; i++) { x += o[2 * i]; y += o[2 * i + 1]; }
        int n = to - from + 1;
        return new PointF(region.X1 + x / n * region.Width, region.Y1 + y / n * region.Height);
    }

    public void Dispose() => _model.Dispose();
}
