using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Interop.OnnxRuntime;
using Kiosk.Vision.Models;
using Kiosk.Vision.Preprocessing;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>
/// <c>bench faces</c>: timing of the face path on one 640x480 frame, for each thread count, best median of several rounds:
/// <list type="bullet">
/// <item>binding parity: each model alone with ONNX Runtime's default options (threads spin), as the Node.js
/// reference runs it, with random input; compared with that reference when its JSON is given;</item>
/// <item>the kiosk's stages with its own options: decode, detect, landmarks, align, embed, the whole per-face
/// path, and the share of the path's time spent outside the models' Run calls.</item>
/// </list>
/// </summary>
internal static class BenchCommand
{
    private static readonly (string Stage, ModelFileSpec Spec)[] Models =
        [("fr_detect", ModelCatalog.DefaultDetector), ("fr_landmark", ModelCatalog.DefaultLandmarks), ("fr_feature", ModelCatalog.Default)];

    /// <summary>The <c>bench</c> group: <c>bench faces</c> (this class) and <c>bench search</c> (<see cref="SearchBenchCommand"/>).</summary>
    public static Command Create(KioskSettings settings)
    {
        var bench = new Command("bench", "Benchmarks: the per-face path, the 1:N gallery search");
        bench.Subcommands.Add(CreateFaces(settings));
        bench.Subcommands.Add(CreateBackends(settings));
        bench.Subcommands.Add(SearchBenchCommand.Create());
        return bench;
    }

    private static Command CreateFaces(KioskSettings settings)
    {
        var common = new CommonOptions(settings);
        var frame = new Option<FileInfo?>("--frame") { Description = "Image to use (scaled to 640x480); default: a pairs-dev photo" };
        var runs = new Option<int>("--runs") { Description = "Timed runs per stage and round", DefaultValueFactory = _ => 200 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds; each figure is the best round's median", DefaultValueFactory = _ => 3 };
        var threads = new Option<int[]>("--thread-counts") { Description = "Thread counts to measure", DefaultValueFactory = _ => [1, 2], AllowMultipleArgumentsPerToken = true };
        var nodeRef = new Option<FileInfo?>("--node-reference") { Description = "JSON from bench/node-reference/run.sh --json: print our/Node ratios" };
        var cmd = new Command("faces", "Benchmark decode, detect, landmarks, align, embed and the whole per-face path") { frame, runs, rounds, threads, nodeRef };
        common.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var source = r.GetValue(frame)?.FullName ?? DefaultFrame();
            var img = ToFrame(ImageDecoder.Decode(source), 640, 480);
            var reference = LoadReference(r.GetValue(nodeRef));
            int n = r.GetValue(runs), k = r.GetValue(rounds);
            if (n < 1 || k < 1) throw new UsageException("--runs and --rounds must be at least 1");
            AnsiConsole.MarkupLineInterpolated(
                $"frame: {Path.GetFileName(source)} scaled to 640x480; {n} runs x {k} rounds per figure; ONNX Runtime {OrtLibrary.Version}; {Environment.ProcessorCount} cores");
            var kv = new List<string>();
            foreach (int t in r.GetValue(threads)!)
            {
                var parity = Best(k, () => MeasureModelsAlone(t, n));
                var options = common.PipelineOptions(r);
                options = options with { Inference = options.Inference with { Threads = t } };
                using var pipeline = new FacePipeline(options);
                var stages = Best(k, () => MeasureStages(pipeline, img, n));
                Print(t, parity, stages, reference, kv);
            }
            Console.WriteLine(string.Join(' ', kv));
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// <c>bench backends</c>: each configured model (detector, landmarks, embedders) on every backend and device here
    /// that can run it (ONNX Runtime; OpenVINO on each device it lists), same random input, one session: the median
    /// per run and its ratio to the first backend's, the figure that decides whether an NCS2 or a GPU is worth it.
    /// </summary>
    private static Command CreateBackends(KioskSettings settings)
    {
        var runs = new Option<int>("--runs") { Description = "Timed runs per model and backend", DefaultValueFactory = _ => 200 };
        var threads = new Option<int>("--threads") { Description = "Threads per model (CPU backends)", DefaultValueFactory = _ => settings.Inference.Threads };
        var cmd = new Command("backends", "Time each configured model on every backend and device available here, as ratios to the first") { runs, threads };
        cmd.SetAction(r =>
        {
            int n = r.GetValue(runs);
            if (n < 1) throw new UsageException("--runs must be at least 1");
            var ov = OpenVinoRuntime.Probe();
            var devices = ov.Available ? ov.Devices.Select(d => d.Name).ToArray() : [];
            AnsiConsole.MarkupLineInterpolated($"ONNX Runtime {OrtLibrary.Version}; OpenVINO {(ov.Available ? $"{ov.Version}, devices {string.Join(", ", devices)}" : "not available")}; {n} runs each");
            var options = settings.Inference with { Threads = r.GetValue(threads), Fallback = false };
            var specs = new List<ModelFileSpec> { settings.DetectorSpec(), settings.LandmarkSpec(), settings.EmbedderSpec(settings.Embedder) };
            if (settings.AccurateEmbedder.Length > 0) specs.Add(settings.EmbedderSpec(settings.AccurateEmbedder));
            var table = new Table().AddColumns("model", "backend", "median ms", "p90 ms", "ratio to the first");
            var kv = new List<string>();
            foreach (var spec in specs)
            {
                var candidates = new List<BackendCandidate>();
                if (spec.OnnxPath is { } onnx) candidates.Add(new BackendCandidate("onnxruntime", "CPU", onnx));
                candidates.AddRange(devices.Select(d => new BackendCandidate("openvino", d, spec.ResolvedFile)));
                double? first = null;
                foreach (var c in candidates)
                {
                    try
                    {
                        using var model = BackendSelection.OpenOn(spec, c, options);
                        // Random pixels through the spec's own normalization: values in the range the model was trained on
                        // (raw 0..255 into a model expecting [-1, 1] makes huge activations and misleading timings).
                        var rng = new Random(42);
                        var input = model.Input();
                        var norm = spec.Normalization;
                        bool standardize = norm.Kind == NormalizationKind.PerImageStandardization;
                        for (int i = 0; i < input.Length; i++)
                        {
                            double v = rng.NextDouble() * 255;
                            input[i] = standardize ? (float)(v / 127.5 - 1) : (float)((v - norm.Mean[0]) * norm.Scale[0]);
                        }
                        var s = Time(n, model.Run);
                        first ??= s.Median;
                        table.AddRow(spec.Name, c.ToString(), F(s.Median, "F3"), F(s.P90, "F3"), F(s.Median / first.Value, "F3"));
                        kv.Add($"{spec.Name}_{c.Backend}_{c.Device}_ms={F(s.Median, "F3")}");
                    }
                    catch (Exception e) when (BackendSelection.IsBackendFailure(e) || e is ModelSpecMismatchException)
                    {
                        table.AddRow(Markup.Escape(spec.Name), Markup.Escape(c.ToString()), "-", "-", Markup.Escape(e.Message));
                    }
                }
                if (candidates.Count == 0)
                    table.AddRow(Markup.Escape(spec.Name), "-", "-", "-", "no backend here can read it (an IR needs OpenVINO)");
            }
            AnsiConsole.Write(table);
            Console.WriteLine(string.Join(' ', kv));
            return 0;
        });
        return cmd;
    }

    internal sealed record Stat(double Median, double Mean, double P90);

    /// <summary>Each model alone, ONNX Runtime defaults (spinning on), random input in [-1, 1): what the Node.js reference does.</summary>
    internal static Dictionary<string, Stat> MeasureModelsAlone(int threads, int runs)
    {
        var result = new Dictionary<string, Stat>();
        var rng = new Random(42);
        foreach (var (name, spec) in Models)
        {
            using var model = new OnnxRuntimeModel(name, ModelFiles.Resolve(spec), new InferenceOptions { Threads = threads, AllowSpinning = true });
            var input = model.Input();
            for (int i = 0; i < input.Length; i++) input[i] = (float)(rng.NextDouble() * 2 - 1);
            result[name] = Time(runs, model.Run);
        }
        return result;
    }

    /// <summary>The kiosk's stages with its own options. Key "outside_ort" holds the share, not a time.</summary>
    internal static Dictionary<string, Stat> MeasureStages(FacePipeline p, BgrImage frame, int runs)
    {
        var detections = new List<FaceDetection>();
        p.Detector.Detect(frame, detections);
        if (detections.Count == 0) throw new NoFaceException("no face in the benchmark frame; pass --frame with a face");
        var box = detections[0].Box;
        var points = p.Landmarks.Detect(frame, box);
        var embedding = new float[p.Embedder.Dimension];
        byte[] jpeg = ImageEncoder.EncodeJpeg(frame, 90);
        var decoded = new BgrImage(frame.Width, frame.Height);
        var stages = new Dictionary<string, Stat>
        {
            ["decode"] = Time(runs, () => ImageDecoder.DecodeInto(jpeg, "bench", decoded)),
            ["detect"] = Time(runs, () => p.Detector.Detect(frame, detections)),
            ["landmarks"] = Time(runs, () => p.Landmarks.Detect(frame, box)),
            ["align"] = Time(runs, () => p.Embedder.Align(frame, box, points)),
            ["embed"] = Time(runs, () => p.Embedder.EmbedCrop(embedding)),
        };

        void FacePath()
        {
            p.Detector.Detect(frame, detections);
            var pts = p.Landmarks.Detect(frame, detections[0].Box);
            p.Embedder.Align(frame, detections[0].Box, pts);
            p.Embedder.EmbedCrop(embedding);
        }
        FacePath();
        // Time inside the three models during the timed face-path runs, from their own counters.
        TimeSpan InModels() => p.Detector.Model.Stats.RunTime + p.Landmarks.Model.Stats.RunTime + p.Embedder.Model.Stats.RunTime;
        var before = InModels();
        long t0 = Stopwatch.GetTimestamp();
        stages["face_path"] = Time(runs, FacePath, warmup: 0);
        double wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        double share = 1 - (InModels() - before).TotalMilliseconds / wall;
        stages["outside_ort"] = new Stat(share, share, share);
        return stages;
    }

    /// <summary>Runs <paramref name="measure"/> <paramref name="rounds"/> times and keeps each key's lowest median.</summary>
    private static Dictionary<string, Stat> Best(int rounds, Func<Dictionary<string, Stat>> measure)
    {
        Dictionary<string, Stat>? best = null;
        for (int i = 0; i < rounds; i++)
        {
            var m = measure();
            if (best is null) { best = m; continue; }
            foreach (var (key, stat) in m)
                if (stat.Median < best[key].Median) best[key] = stat;
        }
        return best!;
    }

    private static Stat Time(int runs, Action action, int? warmup = null)
    {
        for (int i = 0; i < (warmup ?? Math.Max(10, runs / 10)); i++) action();
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

    private static void Print(int threads, Dictionary<string, Stat> parity, Dictionary<string, Stat> stages,
        Dictionary<(string, int), double>? reference, List<string> kv)
    {
        var models = new Table().Title($"threads = {threads}: each model alone, ONNX Runtime defaults (as the Node.js reference)")
            .AddColumns("model", "median ms", "mean ms", "p90 ms", "Node.js median ms", "ours / Node");
        double ours = 0, node = 0;
        bool haveNode = reference is not null;
        foreach (var (name, _) in Models)
        {
            var s = parity[name];
            ours += s.Median;
            string refText = "", ratio = "";
            if (reference is not null && reference.TryGetValue((name, threads), out double nodeMs))
            {
                node += nodeMs;
                refText = F(nodeMs, "F3");
                ratio = F(s.Median / nodeMs, "F3");
            }
            else haveNode = false;
            models.AddRow(name, F(s.Median, "F3"), F(s.Mean, "F3"), F(s.P90, "F3"), refText, ratio);
            kv.Add($"t{threads}_{name}_ms={F(s.Median, "F3")}");
        }
        models.AddRow("detect + landmarks + embed", F(ours, "F3"), "", "", haveNode ? F(node, "F3") : "", haveNode ? F(ours / node, "F3") : "");
        AnsiConsole.Write(models);
        kv.Add($"t{threads}_models_ms={F(ours, "F3")}");
        if (haveNode) kv.Add($"t{threads}_models_vs_node={F(ours / node, "F3")}");

        var table = new Table().Title($"threads = {threads}: the kiosk's face path (its own options)").AddColumns("stage", "median ms", "mean ms", "p90 ms");
        foreach (var (name, s) in stages)
        {
            if (name == "outside_ort") continue;
            table.AddRow(name, F(s.Median), F(s.Mean), F(s.P90));
            kv.Add($"t{threads}_{name}_ms={F(s.Median, "F3")}");
        }
        double outside = stages["outside_ort"].Median;
        table.AddRow("share of the face path outside ONNX Runtime", F(outside * 100, "F1") + " %", "", "");
        AnsiConsole.Write(table);
        kv.Add($"t{threads}_outside_ort={F(outside, "F4")}");
    }

    private static Dictionary<(string, int), double>? LoadReference(FileInfo? file)
    {
        if (file is null) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file.FullName));
            var result = new Dictionary<(string, int), double>();
            foreach (var e in doc.RootElement.EnumerateArray())
                result[(e.GetProperty("model").GetString()!, e.GetProperty("threads").GetInt32())] = e.GetProperty("median_ms").GetDouble();
            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new UsageException($"--node-reference {file.FullName} is not the JSON of bench/node-reference/run.sh: {e.Message}");
        }
    }

    private static BgrImage ToFrame(BgrImage src, int w, int h)
    {
        var dst = new BgrImage(w, h);
        ImageOps.WarpAffine(src, ImageOps.RectToGrid(0, 0, src.Width, src.Height, w, h), dst, BorderMode.Replicate);
        return dst;
    }

    private static string DefaultFrame() =>
        SharedData.PairsDev() is { } dir && File.Exists(Path.Combine(dir, "img1.jpg"))
            ? Path.Combine(dir, "img1.jpg")
            : throw new UsageException("no default frame found (shared/datasets/pairs-dev/img1.jpg); pass --frame");

    private static string F(double v, string fmt = "F2") => v.ToString(fmt, CultureInfo.InvariantCulture);
}
