using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Models;
using Kiosk.Vision.Preprocessing;

namespace Kiosk.Vision.Faces;

/// <summary>A detected face: box in image pixels and detector confidence (0..1).</summary>
public readonly record struct FaceDetection(BoxF Box, float Score);

/// <summary>
/// Runs a detector spec on whole frames. Buffers are sized once per frame size; <see cref="Detect"/> fills a
/// caller-owned list and allocates nothing in steady state. Not thread-safe.
/// </summary>
public sealed class FaceDetector : IDisposable
{
    private readonly IInferenceModel _model;
    private readonly int _scores, _boxes, _candidates;
    // Tables per (source, content) length: frames and their padded retries alternate without rebuilding them.
    private readonly Dictionary<(int Src, int Dst), ImageOps.ResizeTables> _tables = new(8);
    private readonly int[] _order;
    private readonly float[] _orderScores;
    private readonly BoxF[] _candidateBoxes;
    private readonly List<FaceDetection> _kept = new(64);
    private readonly List<FaceDetection> _ssd = new(64);

    public DetectorSpec Spec { get; }
    public IInferenceModel Model => _model;

    public FaceDetector(DetectorSpec spec, InferenceOptions options)
    {
        Spec = spec;
        _model = ModelFiles.OpenImageModel(spec, options, m => OutputLayout(spec, m), out var layout);
        (_scores, _boxes, _candidates) = layout;
        _order = new int[_candidates];
        _orderScores = new float[_candidates];
        _candidateBoxes = new BoxF[_candidates];
    }

    private static (int Scores, int Boxes, int Candidates) OutputLayout(DetectorSpec spec, IInferenceModel model)
    {
        if (spec.Output == DetectorOutput.UltraFaceDecoded)
        {
            int scores = ModelFiles.OutputIndex(spec, model, spec.ScoresOutput);
            int boxes = ModelFiles.OutputIndex(spec, model, spec.BoxesOutput);
            var sShape = model.Outputs[scores].Shape;
            var bShape = model.Outputs[boxes].Shape;
            if (sShape.Length != 3 || sShape[2] != 2 || bShape.Length != 3 || bShape[2] != 4 || sShape[1] != bShape[1])
                throw new ModelSpecMismatchException(
                    $"Detector '{spec.Name}': expected scores Nx2 and boxes Nx4, got {model.Outputs[scores].ShapeText} and {model.Outputs[boxes].ShapeText}");
            return (scores, boxes, (int)sShape[1]);
        }
        var shape = model.Outputs[0].Shape;
        if (shape.Length != 4 || shape[3] != 7)
            throw new ModelSpecMismatchException($"Detector '{spec.Name}': expected SSD output 1x1xNx7, got {model.Outputs[0].ShapeText}");
        return (0, 0, (int)shape[2]);
    }

    /// <summary>Detects faces in <paramref name="image"/>, best first, into <paramref name="results"/> (cleared).</summary>
    public void Detect(BgrImage image, List<FaceDetection> results)
    {
        results.Clear();
        // Content size inside the input: the whole input, or the aspect-preserving fit at its top-left corner.
        int cw = Spec.Width, ch = Spec.Height;
        if (Spec.KeepAspect)
        {
            double scale = Math.Min((double)Spec.Width / image.Width, (double)Spec.Height / image.Height);
            cw = Math.Clamp((int)Math.Round(image.Width * scale), 1, Spec.Width);
            ch = Math.Clamp((int)Math.Round(image.Height * scale), 1, Spec.Height);
        }
        var xt = Tables(image.Width, cw);
        var yt = Tables(image.Height, ch);
        var input = _model.Input();
        if (cw != Spec.Width || ch != Spec.Height)
            input.Clear(); // padding = the normalization's mean, i.e. 0 after mean/scale
        ImageOps.ResizeToTensor(image, xt, yt, input, Spec.Width, Spec.Height, Spec.Channels, Spec.Normalization);
        _model.Run();
        // Model coordinates are fractions of the input; the content spans cw/Width of it.
        float sx = image.Width * (float)Spec.Width / cw, sy = image.Height * (float)Spec.Height / ch;
        if (Spec.Output == DetectorOutput.UltraFaceDecoded) ParseUltraFace(sx, sy, results);
        else ParseSsd(sx, sy, image.Width, image.Height, results);
    }

    private ImageOps.ResizeTables Tables(int src, int dst)
    {
        if (_tables.TryGetValue((src, dst), out var t)) return t;
        if (_tables.Count >= 16) _tables.Clear(); // sizes changing all the time: keep it bounded
        return _tables[(src, dst)] = new ImageOps.ResizeTables(src, dst);
    }

    private void ParseUltraFace(float w, float h, List<FaceDetection> results)
    {
        ReadOnlySpan<float> scores = _model.Output(_scores), boxes = _model.Output(_boxes);
        int n = 0;
        float threshold = Spec.ScoreThreshold;
        for (int i = 0; i < _candidates; i++)
        {
            float s = scores[2 * i + 1];
            if (s <= threshold) continue;
            _candidateBoxes[n] = new BoxF(boxes[4 * i] * w, boxes[4 * i + 1] * h, boxes[4 * i + 2] * w, boxes[4 * i + 3] * h);
            _order[n] = n; _orderScores[n] = -s; n++;
        }
        SortAndSuppress(n, results);
    }

    private void ParseSsd(float w, float h, int imageWidth, int imageHeight, List<FaceDetection> results)
    {
        _ssd.Clear();
        OmzOutputs.DecodeSsd(_model.Output(0), w, h, imageWidth, imageHeight, Spec.ScoreThreshold, _ssd);
        int n = 0;
        foreach (var d in _ssd)
        {
            _candidateBoxes[n] = d.Box;
            _order[n] = n; _orderScores[n] = -d.Score; n++;
        }
        SortAndSuppress(n, results);
    }

    // Greedy NMS over the best TopK candidates by score.
    private void SortAndSuppress(int n, List<FaceDetection> results)
    {
        Array.Sort(_orderScores, _order, 0, n);
        n = Math.Min(n, Spec.TopK);
        _kept.Clear();
        for (int k = 0; k < n; k++)
        {
            var box = _candidateBoxes[_order[k]];
            if (box.Width <= 0 || box.Height <= 0) continue;
            bool suppressed = false;
            foreach (var kept in _kept)
            {
                if (BoxF.IoU(kept.Box, box) > Spec.NmsIoU) { suppressed = true; break; }
            }
            if (!suppressed) _kept.Add(new FaceDetection(box, -_orderScores[k]));
        }
        results.AddRange(_kept);
    }

    public void Dispose() => _model.Dispose();
}
