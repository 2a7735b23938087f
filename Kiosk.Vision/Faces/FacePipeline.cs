using System.Diagnostics;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Models;

namespace Kiosk.Vision.Faces;

/// <summary>What the face path needs: which detector, landmarks and embedder specs, and how to run them.</summary>
public sealed record FacePipelineOptions
{
    public DetectorSpec Detector { get; init; } = ModelCatalog.DefaultDetector;
    public LandmarkSpec Landmarks { get; init; } = ModelCatalog.DefaultLandmarks;
    public EmbedderSpec Embedder { get; init; } = ModelCatalog.Default;
    public InferenceOptions Inference { get; init; } = new();
    /// <summary>
    /// When nothing is found, pad the image and look again: a tight face crop (passport photo, cropped data set)
    /// leaves the detector no context. Costs one more detection, only on images with no face.
    /// </summary>
    public bool PadAndRetry { get; init; } = true;
    /// <summary>Border added on each side for the retry, as a fraction of the image's longer side.</summary>
    public float PadFraction { get; init; } = 0.25f;
    /// <summary>
    /// For still images: besides the whole image, look at a padded copy, 3x3 overlapping half-size windows and 5x5
    /// third-size windows (each padded), so that small and edge-cut faces of group photos are found too. 36 detector
    /// runs; off for the camera loop.
    /// </summary>
    public bool MultiScale { get; init; }
}

/// <summary>Mean time per stage, in milliseconds, over <see cref="Count"/> calls of each.</summary>
public sealed class StageTimes
{
    private readonly long[] _ticks = new long[Names.Length];
    private readonly int[] _counts = new int[Names.Length];
    public static readonly string[] Names = ["decode", "detect", "landmarks", "align", "embed"];
    public const int Decode = 0, Detect = 1, Landmarks = 2, Align = 3, Embed = 4;

    public void Add(int stage, long startTimestamp)
    {
        _ticks[stage] += Stopwatch.GetTimestamp() - startTimestamp;
        _counts[stage]++;
    }

    public int Count(int stage) => _counts[stage];
    public double MeanMs(int stage) => _counts[stage] == 0 ? 0 : _ticks[stage] * 1000.0 / Stopwatch.Frequency / _counts[stage];
    public double TotalMs(int stage) => _ticks[stage] * 1000.0 / Stopwatch.Frequency;
}

/// <summary>One face found in an image: where, its five points, quality, and its embedding (unit length).</summary>
public sealed record FaceResult(FaceDetection Detection, FivePoints Points, FaceQuality Quality, float[] Embedding, bool FoundAfterPadding);

/// <summary>
/// Detector, landmarks and embedder in one place: image in, faces with embeddings out. Not thread-safe; one per thread.
/// </summary>
public sealed class FacePipeline : IDisposable
{
    private readonly List<FaceDetection> _detections = new(32);
    private readonly List<FaceDetection> _windowDetections = new(32);
    private BgrImage? _window;
    private BgrImage? _padded;

    /// <summary>Boxes smaller than this after clipping to the image are dropped: no face fits in them.</summary>
    private const float MinBoxSide = 8f;

    public FacePipelineOptions Options { get; }
    public FaceDetector Detector { get; }
    public LandmarkDetector Landmarks { get; }
    public FaceEmbedder Embedder { get; }

    public FacePipeline(FacePipelineOptions options)
    {
        Options = options;
        options.Inference.Validate();
        var disposables = new List<IDisposable>();
        try
        {
            Detector = Track(disposables, new FaceDetector(options.Detector, options.Inference));
            Landmarks = Track(disposables, new LandmarkDetector(options.Landmarks, options.Inference));
            Embedder = Track(disposables, new FaceEmbedder(options.Embedder, options.Inference));
        }
        catch
        {
            foreach (var d in disposables) d.Dispose();
            throw;
        }
    }

    private static T Track<T>(List<IDisposable> list, T item) where T : IDisposable { list.Add(item); return item; }

    /// <summary>
    /// Finds faces (best detector score first) into <paramref name="results"/>; if none and padding is enabled,
    /// looks again on a padded copy and maps the boxes back. Returns true when the padded retry found them.
    /// </summary>
    public bool Detect(BgrImage image, List<FaceDetection> results, StageTimes? times = null)
    {
        long t0 = Stopwatch.GetTimestamp();
        Detector.Detect(image, results);
        results.RemoveAll(static d => d.Box.Width < MinBoxSide || d.Box.Height < MinBoxSide);
        if (Options.MultiScale)
        {
            DetectPadded(image, results);
            DetectInWindows(image, 2, results);
            DetectInWindows(image, 3, results);
            MergeOverlapping(results, Detector.Spec.NmsIoU);
        }
        times?.Add(StageTimes.Detect, t0);
        if (results.Count > 0 || !Options.PadAndRetry) return false;

        t0 = Stopwatch.GetTimestamp();
        DetectPadded(image, results);
        times?.Add(StageTimes.Detect, t0);
        return results.Count > 0;
    }

    /// <summary>
    /// Runs the detector on 3x3 half-size windows (50% overlap, each with a black border of a quarter of its size)
    /// and merges what they find into <paramref name="results"/>. A window's find that touches one of its inner edges
    /// is a face cut by the window, not by the image, and is left to the window that holds it whole.
    /// </summary>
    private void DetectInWindows(BgrImage image, int division, List<FaceDetection> results)
    {
        int ww = image.Width / division, wh = image.Height / division;
        if (ww < 32 || wh < 32) return;
        int pad = Math.Max(ww, wh) / 4;
        _window ??= new BgrImage(ww + 2 * pad, wh + 2 * pad);
        _window.Reset(ww + 2 * pad, wh + 2 * pad);
        const float edge = 2f;
        int steps = 2 * division - 1;
        for (int gy = 0; gy < steps; gy++)
        {
            for (int gx = 0; gx < steps; gx++)
            {
                int x0 = gx * ww / 2, y0 = gy * wh / 2;
                _window.Pixels.Clear();
                for (int y = 0; y < wh; y++)
                    image.Row(y0 + y).Slice(x0 * 3, ww * 3).CopyTo(_window.Row(y + pad).Slice(pad * 3));
                Detector.Detect(_window, _windowDetections);
                foreach (var d in _windowDetections)
                {
                    var b = d.Box.Offset(x0 - pad, y0 - pad);
                    bool cutByWindow = (x0 > 0 && b.X1 <= x0 + edge) || (y0 > 0 && b.Y1 <= y0 + edge) ||
                                       (x0 + ww < image.Width && b.X2 >= x0 + ww - edge) || (y0 + wh < image.Height && b.Y2 >= y0 + wh - edge);
                    if (cutByWindow) continue;
                    AddClipped(results, d with { Box = b }, image);
                }
            }
        }
    }

    /// <summary>
    /// The whole image inside a black border (a tight face crop gets context; faces cut by the image's edge stand out
    /// better); boxes found are mapped back and added to <paramref name="results"/>.
    /// </summary>
    private void DetectPadded(BgrImage image, List<FaceDetection> results)
    {
        int pad = (int)MathF.Ceiling(Math.Max(image.Width, image.Height) * Options.PadFraction);
        _padded ??= new BgrImage(image.Width + 2 * pad, image.Height + 2 * pad);
        Pad(image, pad, _padded);
        Detector.Detect(_padded, _windowDetections);
        foreach (var d in _windowDetections) AddClipped(results, d with { Box = d.Box.Offset(-pad, -pad) }, image);
    }

    /// <summary>Adds the detection clipped to the image (the face is in it, borders are ours), unless nothing is left.</summary>
    private static void AddClipped(List<FaceDetection> results, FaceDetection d, BgrImage image)
    {
        var b = d.Box;
        b = new BoxF(MathF.Max(b.X1, 0), MathF.Max(b.Y1, 0), MathF.Min(b.X2, image.Width), MathF.Min(b.Y2, image.Height));
        if (b.Width >= MinBoxSide && b.Height >= MinBoxSide) results.Add(d with { Box = b });
    }

    /// <summary>
    /// Merges detections of one face: of two boxes with IoU above <paramref name="iou"/> the better-scoring stays;
    /// of a box lying mostly (80%) inside another, the larger stays (a face seen whole and in part).
    /// </summary>
    internal static void MergeOverlapping(List<FaceDetection> boxes, float iou)
    {
        boxes.Sort((a, b) => b.Score.CompareTo(a.Score));
        Span<bool> removed = boxes.Count <= 256 ? stackalloc bool[boxes.Count] : new bool[boxes.Count];
        for (int i = 0; i < boxes.Count; i++)
        {
            for (int j = i + 1; j < boxes.Count && !removed[i]; j++)
            {
                if (removed[j]) continue;
                var a = boxes[i].Box;
                var b = boxes[j].Box;
                if (BoxF.IoU(a, b) > iou) { removed[j] = true; continue; }
                float w = MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1), h = MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1);
                if (w > 0 && h > 0 && w * h > 0.8f * MathF.Min(a.Area, b.Area))
                {
                    if (a.Area >= b.Area) removed[j] = true;
                    else removed[i] = true;
                }
            }
        }
        int k = 0;
        for (int i = 0; i < boxes.Count; i++) if (!removed[i]) boxes[k++] = boxes[i];
        boxes.RemoveRange(k, boxes.Count - k);
    }

    /// <summary>All faces in the image with embeddings; <paramref name="largestOnly"/> keeps the biggest face.</summary>
    public IReadOnlyList<FaceResult> Analyze(BgrImage image, StageTimes? times = null, bool largestOnly = false)
    {
        bool padded = Detect(image, _detections, times);
        if (largestOnly && _detections.Count > 1)
        {
            var best = _detections[0];
            foreach (var d in _detections) if (d.Box.Area > best.Box.Area) best = d;
            _detections.Clear();
            _detections.Add(best);
        }
        var faces = new List<FaceResult>(_detections.Count);
        foreach (var det in _detections)
        {
            long t0 = Stopwatch.GetTimestamp();
            var points = Landmarks.Detect(image, det.Box);
            times?.Add(StageTimes.Landmarks, t0);

            t0 = Stopwatch.GetTimestamp();
            Embedder.Align(image, det.Box, points);
            var quality = FaceQuality.Measure(det.Box, points, Embedder.Crop);
            times?.Add(StageTimes.Align, t0);

            t0 = Stopwatch.GetTimestamp();
            var embedding = new float[Embedder.Dimension];
            Embedder.EmbedCrop(embedding);
            times?.Add(StageTimes.Embed, t0);
            faces.Add(new FaceResult(det, points, quality, embedding, padded));
        }
        return faces;
    }

    /// <summary>Writes the image with a black border of <paramref name="pad"/> pixels into <paramref name="padded"/> (resized).</summary>
    public static void Pad(BgrImage image, int pad, BgrImage padded)
    {
        padded.Reset(image.Width + 2 * pad, image.Height + 2 * pad);
        padded.Pixels.Clear();
        for (int y = 0; y < image.Height; y++)
            image.Row(y).CopyTo(padded.Row(y + pad).Slice(pad * 3));
    }

    public void Dispose()
    {
        Embedder.Dispose();
        Landmarks.Dispose();
        Detector.Dispose();
    }
}
