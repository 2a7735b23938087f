using System.CommandLine;
using System.Text.Json;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Models;

namespace Kiosk.Host.Cli;

internal enum DetectionMode { Single, Multi }

/// <summary>Options every face command shares, and the pipeline they describe.</summary>
internal sealed class CommonOptions
{
    public Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "Embedding model: a built-in name (default, reid-0095, facenet-20180408) or a JSON model spec file; setting Models:Embedder",
    };

    private readonly KioskSettings _settings;

    public Option<int> Threads { get; } = new("--threads")
    {
        Description = "ONNX Runtime intra-op threads per model (0 = one per core); setting Inference:Threads",
    };

    public Option<bool> NoPad { get; } = new("--no-pad-retry")
    {
        Description = "Do not pad and retry images in which no face is found",
    };

    public Option<float?> MinScore { get; } = new("--min-score")
    {
        Description = "Face detector confidence threshold, 0..1; setting Models:DetectorMinScore",
    };

    public Option<DetectionMode> Detection { get; }

    public Option<string?> Backend { get; } = new("--backend")
    {
        Description = "Backend for every model: auto, onnxruntime or openvino; setting Inference:Backend",
    };

    public Option<string?> Device { get; } = new("--device")
    {
        Description = "OpenVINO device: auto, CPU, MYRIAD, GPU, NPU, AUTO, HETERO:MYRIAD,CPU ...; setting Inference:Device",
    };

    public CommonOptions(KioskSettings settings, DetectionMode defaultDetection = DetectionMode.Single)
    {
        _settings = settings;
        Model.DefaultValueFactory = _ => settings.Embedder;
        Threads.DefaultValueFactory = _ => settings.Inference.Threads;
        Detection = new Option<DetectionMode>("--detection")
        {
            Description = "single: one detector pass on the whole image, as the camera loop does; multi: also on a padded copy " +
                          "and overlapping windows, to find small and edge-cut faces of group photos (about 35 passes)",
            DefaultValueFactory = _ => defaultDetection,
        };
    }

    public Option<bool> Spin { get; } = new("--spin")
    {
        Description = "Let ONNX Runtime's idle worker threads spin after each run (helps one model alone; hurts the face path)",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Spin);
        command.Options.Add(Detection);
        command.Options.Add(MinScore);
        command.Options.Add(Model);
        command.Options.Add(Threads);
        command.Options.Add(NoPad);
        command.Options.Add(Backend);
        command.Options.Add(Device);
    }

    /// <summary>The settings' inference options with --threads, --spin, --backend and --device applied.</summary>
    public InferenceOptions InferenceOptions(ParseResult r)
    {
        string? backend = r.GetValue(Backend) ?? _settings.Inference.Backend;
        string? device = r.GetValue(Device) ?? _settings.Inference.Device;
        if (backend is not null && !ModelFileSpec.Backends.Contains(backend))
            throw new UsageException($"--backend {backend}: one of {string.Join(", ", ModelFileSpec.Backends)}");
        if (device is not null && !ModelFileSpec.IsDeviceName(device))
            throw new UsageException($"--device {device}: auto or an OpenVINO device name (CPU, MYRIAD, GPU, NPU, AUTO, HETERO:MYRIAD,CPU)");
        return _settings.Inference with
        {
            Threads = r.GetValue(Threads), AllowSpinning = _settings.Inference.AllowSpinning || r.GetValue(Spin), Backend = backend, Device = device,
        };
    }

    public FacePipelineOptions PipelineOptions(ParseResult r) => new()
    {
        Embedder = _settings.EmbedderSpec(r.GetValue(Model)!),
        Landmarks = _settings.LandmarkSpec(),
        Inference = InferenceOptions(r),
        PadAndRetry = !r.GetValue(NoPad),
        MultiScale = r.GetValue(Detection) == DetectionMode.Multi,
        Detector = r.GetValue(MinScore) is { } min
            ? _settings.DetectorSpec() with { ScoreThreshold = min is > 0 and < 1 ? min : throw new UsageException("--min-score must be between 0 and 1") }
            : _settings.DetectorSpec(),
    };

    public static EmbedderSpec ResolveEmbedder(string nameOrPath)
    {
        if (!nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            return ModelCatalog.FindEmbedder(nameOrPath) ?? throw new UsageException(
                $"unknown model '{nameOrPath}'; built in: {string.Join(", ", ModelCatalog.Embedders.Select(e => e.Name))}, or a JSON spec file");
        if (!File.Exists(nameOrPath)) throw new FileNotFoundException($"model spec {nameOrPath} not found");
        try
        {
            return ModelCatalog.LoadEmbedderSpec(File.ReadAllText(nameOrPath));
        }
        catch (JsonException e)
        {
            throw new UsageException($"model spec {nameOrPath} is not valid JSON for a spec: {e.Message}");
        }
        catch (ModelSpecException e)
        {
            throw new UsageException($"model spec {nameOrPath}: {e.Message}");
        }
    }
}
