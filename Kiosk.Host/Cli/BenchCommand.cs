using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Preprocessing;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>
/// Per-stage timing of the face path on one 640x480 frame, for each thread count: whole stages (pre-processing,
/// inference, post-processing) and the bare model runs, so the share spent outside ONNX Runtime is visible.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var frame = new Option<FileInfo?>("--frame") { Description = "Image to use (scaled to 640x480); default: a pairs-dev photo" };
        var runs = new Option<int>("--runs") { Description = "Timed runs per stage", DefaultValueFactory = _ => 200 };
        var threads = new Option<int[]>("--thread-counts") { Description = "Thread counts to measure", DefaultValueFactory = _ => [1, 2], AllowMultipleArgumentsPerToken = true };
        var nodeRef = new Option<FileInfo?>("--node-reference") { Description = "JSON from bench/node-reference/run.sh --json: print our/Node ratios" };
        var cmd = new Command("bench", "Benchmark decode, detect, landmarks, align, embed and the whole per-face path") { frame, runs, threads, nodeRef };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var source = r.GetValue(frame)?.FullName ?? DefaultFrame();
            var img = ToFrame(ImageDecoder.Decode(source), 640, 480);
            byte[] jpeg = ImageEncoder.EncodeJpeg(img, 90);
            var reference = LoadReference(r.GetValue(nodeRef));
            int n = r.GetValue(runs);
            AnsiConsole.MarkupLineInterpolated($"frame: {Path.GetFileName(source)} scaled to 640x480, {n} runs per stage, ONNX Runtime {OrtLibrary.Version}, {Environment.ProcessorCount} cores");
            var kv = new List<string>();
            foreach (int t in r.GetValue(threads)!)
            {
                var options = common.PipelineOptions(r) with { Inference = new InferenceOptions { Threads = t } };
                using var pipeline = new FacePipeline(options);
                var result = Measure(pipeline, img, jpeg, n);
                Print(result, t, reference, kv);
            }
            Console.WriteLine(string.Join(' ', kv));
            return 0;
        });
        return cmd;
    }

    internal sealed record Stat(double Median, double Mean, double P90);

    internal sealed record Result(Dictionary<string, Stat> Stages, int Faces);

    internal static Result Measure(FacePipeline p, BgrImage frame, byte[] jpeg, int runs)
    {
        var detections = new List<FaceDetection>();
        p.Detector.Detect(frame, detections);
        if (detections.Count == 0) throw new ArgumentException("no face in the benchmark frame; pass --frame with a face");
        var box = detections[0].Box;
        var points = p.Landmarks.Detect(frame, box);
        var embedding = new float[p.Embedder.Dimension];
        var decoded = new BgrImage(frame.Width, frame.Height);
        var stages = new Dictionary<string, Stat>();

        stages["decode"] = Time(runs, () => ImageDecoder.DecodeInto(jpeg, "bench", decoded));
        stages["detect"] = Time(runs, () => p.Detector.Detect(frame, detections));
        stages["detect.model"] = Time(runs, () => p.Detector.Model.Run());
        stages["landmarks"] = Time(runs, () => p.Landmarks.Detect(frame, box));
        stages["landmarks.model"] = Time(runs, () => p.Landmarks.Model.Run());
        stages["align"] = Time(runs, () => p.Embedder.Align(frame, box, points));
        stages["embed"] = Time(runs, () => p.Embedder.EmbedCrop(embedding));
        stages["embed.model"] = Time(runs, () => p.Embedder.Model.Run());
        stages["face_path"] = Time(runs, () =>
        {
            p.Detector.Detect(frame, detections);
            var pts = p.Landmarks.Detect(frame, detections[0].Box);
            p.Embedder.Align(frame, detections[0].Box, pts);
            p.Embedder.EmbedCrop(embedding);
        });
        return new Result(stages, detections.Count);
    }

    private static Stat Time(int runs, Action action)
    {
        for (int i = 0; i < Math.Max(10, runs / 10); i++) action();
        var ms = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            ms[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(ms);
        return new Stat(ms[runs / 2], ms.Average(), ms[(int)(runs * 0.9)]);
    }

    private static void Print(Result r, int threads, Dictionary<(string, int), double>? reference, List<string> kv)
    {
        var table = new Table().Title($"threads = {threads}").AddColumns("stage", "median ms", "mean ms", "p90 ms", "Node.js ORT median", "ratio");
        (string Stage, string Model)[] modelOf = [("detect.model", "fr_detect"), ("landmarks.model", "fr_landmark"), ("embed.model", "fr_feature")];
        foreach (var (name, s) in r.Stages)
        {
            string refText = "", ratio = "";
            var model = modelOf.FirstOrDefault(m => m.Stage == name).Model;
            if (model is not null && reference is not null && reference.TryGetValue((model, threads), out double nodeMs))
            {
                refText = F(nodeMs);
                ratio = F(s.Median / nodeMs, "F3");
            }
            table.AddRow(name, F(s.Median), F(s.Mean), F(s.P90), refText, ratio);
            kv.Add($"t{threads}_{name.Replace('.', '_')}_ms={F(s.Median, "F3")}");
        }
        double models = r.Stages["detect.model"].Median + r.Stages["landmarks.model"].Median + r.Stages["embed.model"].Median;
        double path = r.Stages["face_path"].Median;
        double outside = Math.Max(0, path - models) / path;
        table.AddEmptyRow();
        table.AddRow("models (detect+landmarks+embed)", F(models), "", "", reference is null ? "" : NodeSum(reference, threads), reference is null ? "" : RatioSum(reference, threads, models));
        table.AddRow("share of face path outside ONNX Runtime", (outside * 100).ToString("F1", CultureInfo.InvariantCulture) + " %", "", "", "", "");
        AnsiConsole.Write(table);
        kv.Add($"t{threads}_models_ms={F(models, "F3")}");
        kv.Add($"t{threads}_outside_ort={outside.ToString("F4", CultureInfo.InvariantCulture)}");
        if (reference is not null && TryNodeSum(reference, threads, out double node))
            kv.Add($"t{threads}_models_vs_node={(models / node).ToString("F3", CultureInfo.InvariantCulture)}");
    }

    private static bool TryNodeSum(Dictionary<(string, int), double> reference, int threads, out double sum)
    {
        sum = 0;
        foreach (var m in new[] { "fr_detect", "fr_landmark", "fr_feature" })
        {
            if (!reference.TryGetValue((m, threads), out double v)) return false;
            sum += v;
        }
        return true;
    }

    private static string NodeSum(Dictionary<(string, int), double> reference, int threads) =>
        TryNodeSum(reference, threads, out double s) ? F(s) : "";

    private static string RatioSum(Dictionary<(string, int), double> reference, int threads, double ours) =>
        TryNodeSum(reference, threads, out double s) ? F(ours / s, "F3") : "";

    private static Dictionary<(string, int), double>? LoadReference(FileInfo? file)
    {
        if (file is null) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(file.FullName));
        var result = new Dictionary<(string, int), double>();
        foreach (var e in doc.RootElement.EnumerateArray())
            result[(e.GetProperty("model").GetString()!, e.GetProperty("threads").GetInt32())] = e.GetProperty("median_ms").GetDouble();
        return result;
    }

    private static BgrImage ToFrame(BgrImage src, int w, int h)
    {
        var dst = new BgrImage(w, h);
        ImageOps.WarpAffine(src, ImageOps.RectToGrid(0, 0, src.Width, src.Height, w, h), dst, BorderMode.Replicate);
        return dst;
    }

    private static string DefaultFrame()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "..", "shared", "datasets", "pairs-dev", "img1.jpg");
            if (dir.GetFiles("Kiosk.sln").Length > 0 && File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new ArgumentException("no default frame found (../shared/datasets/pairs-dev/img1.jpg); pass --frame");
    }

    private static string F(double v, string fmt = "F2") => v.ToString(fmt, CultureInfo.InvariantCulture);
}
